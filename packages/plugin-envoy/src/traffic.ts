import { errorText, TRAFFIC_STOPPED, type HookContext } from '@task-helper/core';

export const trafficDefaults = Object.freeze({
  /** Seconds without a caller's request answered (and none in flight) before traffic counts as stopped. */
  quietPeriod: 1,
  pollIntervalMs: 250,
});

export interface TrafficWatch {
  /** Milliseconds after `/healthcheck/fail` before traffic may count as stopped: downstream health checks' interval × threshold. */
  drainMinMs: number;
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

/**
 * Runs in the background from `/healthcheck/fail` on, and sets TRAFFIC_STOPPED (ending
 * plugin-delay's DRAIN_TIMEOUT wait) once DRAIN_MIN has passed, no caller's request has been
 * answered for the quiet period and nothing is in flight. Something in flight only holds the end
 * back (it may be a health check, which Envoy's in-flight gauge cannot tell apart): a caller's
 * request restarts the quiet period when it is answered. The quiet period may lie within
 * DRAIN_MIN, so a drain whose callers left early ends right at DRAIN_MIN. Unreadable stats end
 * the watch: never finish early on missing data.
 */
export async function watchTraffic(
  ctx: HookContext,
  read: () => Promise<readonly Stat[]>,
  watch: TrafficWatch,
): Promise<void> {
  const started = Date.now();
  let last: TrafficSample | undefined;
  let quietSince = started;
  while (!ctx.abortSignal.aborted) {
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
    const now = Date.now();
    if (last !== undefined && sample.requests !== last.requests) quietSince = now;
    const quietMs = now - quietSince;
    const sinceFailMs = now - started;
    ctx.logger.debug({ ...sample, quietMs, sinceFailMs }, 'traffic poll');
    if (sample.active === 0 && last !== undefined && quietMs >= watch.quietMs && sinceFailMs >= watch.drainMinMs) {
      ctx.logger.info({ quietMs, sinceFailMs }, 'traffic stopped');
      ctx.shared.set(TRAFFIC_STOPPED, { quietMs, sinceFailMs });
      return;
    }
    last = sample;
    await ctx.sleep(trafficDefaults.pollIntervalMs);
  }
}
