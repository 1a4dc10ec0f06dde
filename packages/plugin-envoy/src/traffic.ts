import { TRAFFIC_STOPPED, type HookContext } from '@task-helper/core';

export const trafficDefaults = Object.freeze({
  /** Seconds without a request in flight or arriving before traffic counts as stopped. */
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

/** Application requests: the health check filter's own requests and the admin listener never count. */
export interface TrafficSample {
  active: number;
  requests: number;
}

// http.<prefix>.downstream_rq_active|total, and the health check filter's http.<prefix>.health_check.request_total.
export const TRAFFIC_STATS_FILTER = String.raw`^http\.[^.]+\.(downstream_rq_(active|total)|health_check\.request_total)$`;
const STAT = /^http\.([^.]+)\.(downstream_rq_active|downstream_rq_total|health_check\.request_total)$/;

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
    if (stat?.downstream_rq_active === undefined || stat.downstream_rq_total === undefined) return undefined;
    active += stat.downstream_rq_active;
    requests += stat.downstream_rq_total - (stat['health_check.request_total'] ?? 0);
  }
  return { active, requests };
}

/**
 * Runs in the background from `/healthcheck/fail` on, and sets TRAFFIC_STOPPED (ending
 * plugin-delay's DRAIN_TIMEOUT wait) once DRAIN_MIN has passed and no request has been in flight
 * or arrived for the quiet period. The quiet period may lie within DRAIN_MIN, so a drain whose
 * callers left early ends right at DRAIN_MIN. Unreadable stats end the watch: never finish early
 * on missing data.
 */
export async function watchTraffic(ctx: HookContext, read: () => Promise<readonly Stat[]>, watch: TrafficWatch): Promise<void> {
  const started = Date.now();
  let last: TrafficSample | undefined;
  let quietSince = started;
  while (!ctx.abortSignal.aborted) {
    let sample: TrafficSample | undefined;
    try {
      sample = sampleTraffic(await read(), watch.statPrefixes);
    } catch (error) {
      if (ctx.abortSignal.aborted) return;
      ctx.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'traffic stats unreadable: waiting the full DRAIN_TIMEOUT');
      return;
    }
    if (sample === undefined) {
      const wanted = watch.statPrefixes.length > 0 ? watch.statPrefixes.join(', ') : 'any but admin';
      ctx.logger.warn({ statPrefixes: wanted }, 'traffic stats missing for the watched connection managers: waiting the full DRAIN_TIMEOUT');
      return;
    }
    const now = Date.now();
    if (sample.active > 0 || (last !== undefined && sample.requests !== last.requests)) quietSince = now;
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
