import { errorText, TRAFFIC_STOPPED, type HookContext } from '@task-helper/core';

export const trafficDefaults = Object.freeze({
  /** DRAIN_QUIET_PERIOD's default, in seconds: the longest quiet period, used when the callers' pace is unknown. */
  quietPeriod: 1,
  /**
   * The shortest quiet period, whatever the callers' pace: a caller's own hiccup (a GC pause, a
   * reconnect) must not read as its leaving. With reads every 100 ms, the end comes at most
   * 100 + 200 ms after the last request answered.
   */
  quietFloorMs: 200,
  /**
   * The quiet period in the callers' mean gaps between requests: for requests arriving at random
   * (Poisson), a gap of 10 mean gaps has probability e^-10, under 1 in 20 000 per request, so a
   * caller still sending (one without active health checks) almost never leaves such a hole.
   */
  gapsPerQuiet: 10,
  /** How often the stats are read during DRAIN_DELAY, for the callers' pace (a rate needs no more). */
  pacePollMs: 500,
  /** How often they are read during the drain: half the quiet period, within these bounds. */
  minPollIntervalMs: 100,
  maxPollIntervalMs: 250,
});

export interface TrafficWatch {
  /** Milliseconds after `/healthcheck/fail` before traffic may count as stopped: downstream health checks' interval × threshold. */
  drainMinMs: number;
  /** DRAIN_QUIET_PERIOD: the longest quiet period. */
  quietMs: number;
  /** Connection-manager stat prefixes to watch; empty: every one but Envoy's own `admin`. */
  statPrefixes: readonly string[];
}

export interface Stat {
  name: string;
  value?: number;
}

/** Callers' requests on the watched connection managers: health checks and the admin listener never count. */
export interface TrafficSample {
  /** Requests in flight, health checks included: Envoy has no in-flight gauge that leaves them out. */
  active: number;
  /** Callers' requests answered so far (`downstream_rq_completed`), health checks never included. */
  requests: number;
}

// Envoy counts every stream, health checks included, in downstream_rq_total and _active as it
// starts; downstream_rq_completed is charged as the response headers go out and leaves health
// checks out on every version (1.29 has no health_check.* counters; on 1.40 they count only the
// checks the filter answers itself, not those passed through to the app). So completed is the
// callers' count, and a health check caught in flight shows only in active.
const STATS = '(downstream_rq_active|downstream_rq_completed)';
// A stat prefix may contain dots (inbound_0.0.0.0_15000); Envoy's per-listener copies
// (listener.<address>.http.<prefix>.*) are left out by the anchor.
const STAT = new RegExp(`^http\\.(.+)\\.${STATS}$`);

/** RE2 (Envoy's `/stats?filter=`) for the watched prefixes' stats; every connection manager's when none is named. */
export function trafficStatsFilter(statPrefixes: readonly string[]): string {
  const prefix =
    statPrefixes.length > 0 ? `(${statPrefixes.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})` : '.+';
  return `^http\\.${prefix}\\.${STATS}$`;
}

/** Sums the watched connection managers' stats; undefined when a watched one is missing. */
export function sampleTraffic(stats: readonly Stat[], statPrefixes: readonly string[]): TrafficSample | undefined {
  const byPrefix = new Map<string, Record<string, number>>();
  for (const { name, value } of stats) {
    const match = STAT.exec(name);
    if (!match || match[1] === 'admin' || typeof value !== 'number') continue;
    const [, prefix = '', stat = ''] = match;
    byPrefix.set(prefix, { ...byPrefix.get(prefix), [stat]: value });
  }
  const prefixes = statPrefixes.length > 0 ? statPrefixes : [...byPrefix.keys()];
  if (prefixes.length === 0) return undefined;
  let active = 0;
  let requests = 0;
  for (const prefix of prefixes) {
    const stat = byPrefix.get(prefix);
    if (stat?.downstream_rq_active === undefined || stat.downstream_rq_completed === undefined) return undefined;
    active += stat.downstream_rq_active;
    requests += stat.downstream_rq_completed;
  }
  return { active, requests };
}

/** Callers' requests seen during DRAIN_DELAY, before the fail. */
export interface CallerPace {
  /** From the first read to the last. */
  windowMs: number;
  /** Callers' requests answered in that window. */
  requests: number;
  /** The longest stretch between two reads with no caller's request answered: at least that long, callers sent nothing. */
  longestSilenceMs: number;
}

export interface QuietPeriod {
  quietMs: number;
  /** What it follows: the callers' pace, or the ceiling for want of one. */
  basis: 'callers pace' | 'no requests during DRAIN_DELAY' | 'pace not measured';
  meanGapMs?: number;
}

/** `high` wins over `low`: a DRAIN_QUIET_PERIOD set under the floor is kept. */
const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

/**
 * The quiet period that counts as traffic stopped: 10 of the callers' mean gaps before the fail,
 * or the longest silence they showed if longer, between 200 ms and DRAIN_QUIET_PERIOD (which wins
 * when set lower). Busy callers that have gone show it within a fraction of a second; sparse
 * ones, and callers that sent nothing or could not be measured (a DRAIN_DELAY too short for two
 * reads, about 1 s; stats unreadable) get all of DRAIN_QUIET_PERIOD, as they always did.
 */
export function quietPeriod(pace: CallerPace | undefined, ceilingMs: number): QuietPeriod {
  if (pace === undefined || pace.windowMs < trafficDefaults.pacePollMs)
    return { quietMs: ceilingMs, basis: 'pace not measured' };
  if (pace.requests === 0) return { quietMs: ceilingMs, basis: 'no requests during DRAIN_DELAY' };
  const meanGapMs = pace.windowMs / pace.requests;
  const wanted = Math.max(trafficDefaults.gapsPerQuiet * meanGapMs, pace.longestSilenceMs);
  const quietMs = clamp(Math.ceil(wanted), trafficDefaults.quietFloorMs, ceilingMs);
  return { quietMs, basis: 'callers pace', meanGapMs: Math.round(meanGapMs * 10) / 10 };
}

/**
 * Resolves true after `ms`, false as soon as `signal` fires. Not ctx.sleep: the end of DRAIN_DELAY,
 * cut by the budget or not, is how these reads are meant to stop, not a wait cut short.
 */
function tick(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const stop = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
}

/** What measurePace has seen so far; undefined until two reads, or once a read failed. */
export type PaceReader = () => CallerPace | undefined;

/**
 * Reads the callers' pace in the background from the stop signal until `ctx.abortSignal` fires
 * (the end of DRAIN_DELAY): one stats read every 500 ms, keeping only the first, the last and the
 * longest silence. A failed read ends the measurement, leaving the pace unknown. The read's own
 * time is left in the interval: a slow Envoy is read less often, never more.
 */
export function measurePace(
  ctx: Pick<HookContext, 'abortSignal' | 'logger'>,
  read: () => Promise<readonly Stat[]>,
  statPrefixes: readonly string[],
): PaceReader {
  let first: { at: number; requests: number } | undefined;
  let last: { at: number; requests: number } | undefined;
  let changedAt = 0;
  let longestSilenceMs = 0;
  let failed = false;
  void (async () => {
    // The first read one interval after the signal: nothing at the signal itself, and nothing at all
    // with a DRAIN_DELAY too short to measure in.
    while (await tick(trafficDefaults.pacePollMs, ctx.abortSignal)) {
      let sample: TrafficSample | undefined;
      try {
        sample = sampleTraffic(await read(), statPrefixes);
      } catch (error) {
        if (ctx.abortSignal.aborted) return;
        ctx.logger.debug({ error: errorText(error) }, 'traffic stats unreadable during DRAIN_DELAY');
      }
      if (ctx.abortSignal.aborted) return;
      if (sample === undefined) {
        failed = true;
        return;
      }
      const at = Date.now();
      if (last === undefined || sample.requests !== last.requests) changedAt = at;
      longestSilenceMs = Math.max(longestSilenceMs, at - changedAt);
      first ??= { at, requests: sample.requests };
      last = { at, requests: sample.requests };
    }
  })();
  return () =>
    failed || first === undefined || last === undefined || last.at === first.at
      ? undefined
      : { windowMs: last.at - first.at, requests: last.requests - first.requests, longestSilenceMs };
}

/**
 * Runs in the background from `/healthcheck/fail` on, and sets TRAFFIC_STOPPED (ending
 * plugin-delay's DRAIN_TIMEOUT wait) once DRAIN_MIN has passed, no caller's request has been
 * answered for the quiet period (from the callers' pace before the fail: quietPeriod) and nothing
 * is in flight. Something in flight only holds the end back (it may be a health check, which
 * Envoy's in-flight gauge cannot tell apart): a caller's request restarts the quiet period when
 * it is answered, unless it was in flight at the fail (then the end comes at the read that sees
 * the last one answered). The quiet period may lie within DRAIN_MIN, so a drain whose callers
 * left early ends right at DRAIN_MIN. Unreadable stats end the watch: never finish early on
 * missing data.
 */
export async function watchTraffic(
  ctx: HookContext,
  read: () => Promise<readonly Stat[]>,
  watch: TrafficWatch,
  pace?: CallerPace,
): Promise<void> {
  const started = Date.now();
  const quiet = quietPeriod(pace, watch.quietMs);
  const pollMs = clamp(quiet.quietMs / 2, trafficDefaults.minPollIntervalMs, trafficDefaults.maxPollIntervalMs);
  ctx.logger.info({ ...quiet, ...pace }, 'quiet period set');
  let last: TrafficSample | undefined;
  let quietSince = started;
  // Requests in flight at the fail (the first read's count) were sent before it: their answers are
  // the end of the traffic before the fail, not callers still sending, so up to that many answers,
  // each seen with the in-flight count falling as much (nothing new came in), leave the quiet
  // period running. Bounded by that count, so callers still sending always restart it.
  let tail = 0;
  while (!ctx.abortSignal.aborted) {
    const readAt = Date.now();
    let sample: TrafficSample | undefined;
    try {
      sample = sampleTraffic(await read(), watch.statPrefixes);
    } catch (error) {
      if (ctx.abortSignal.aborted) return;
      ctx.logger.warn({ error: errorText(error) }, 'traffic stats unreadable: waiting the full DRAIN_TIMEOUT');
      return;
    }
    if (sample === undefined) {
      const wanted = watch.statPrefixes.length > 0 ? watch.statPrefixes.join(', ') : 'any but admin';
      ctx.logger.warn(
        { statPrefixes: wanted },
        'traffic stats missing for the watched connection managers: waiting the full DRAIN_TIMEOUT',
      );
      return;
    }
    // Timed by when each read started: their cadence is steady, how long Envoy takes to answer is
    // not, and 1 s of quiet must not miss its read by the 2 ms one answer took longer than another.
    const now = readAt;
    if (last === undefined) tail = sample.active;
    else if (sample.requests !== last.requests) {
      const answered = sample.requests - last.requests;
      if (answered > 0 && answered <= tail && last.active - sample.active >= answered) tail -= answered;
      else quietSince = now;
    }
    const quietMs = now - quietSince;
    const sinceFailMs = now - started;
    ctx.logger.debug({ ...sample, quietMs, sinceFailMs }, 'traffic poll');
    if (sample.active === 0 && last !== undefined && quietMs >= quiet.quietMs && sinceFailMs >= watch.drainMinMs) {
      ctx.logger.info({ quietMs, sinceFailMs, quietPeriodMs: quiet.quietMs }, 'traffic stopped');
      ctx.shared.set(TRAFFIC_STOPPED, { quietMs, sinceFailMs });
      return;
    }
    last = sample;
    // A steady cadence, whatever a read takes, and a read right at DRAIN_MIN: no drift past it.
    const dueAt = Math.min(readAt + pollMs, sinceFailMs < watch.drainMinMs ? started + watch.drainMinMs : Infinity);
    await ctx.sleep(Math.max(0, dueAt - Date.now()));
  }
}
