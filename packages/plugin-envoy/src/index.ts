import { checkOptions, httpUrl, port, readSetting, seconds, type Plugin } from '@task-helper/core';
import { createAdminClient } from './admin-client.ts';
import { TRAFFIC_STATS_FILTER, trafficDefaults, watchTraffic, type Stat, type TrafficWatch } from './traffic.ts';

export { adminRequestDefaults, AdminRequestError, createAdminClient, type AdminClient, type AdminRequest } from './admin-client.ts';
export { sampleTraffic, trafficDefaults, watchTraffic, type Stat, type TrafficSample, type TrafficWatch } from './traffic.ts';

export const envoyDefaults = Object.freeze({ adminUrl: 'http://127.0.0.1:9901' });

export interface EnvoyOptions {
  /** Envoy's admin API; env ENVOY_ADMIN_URL, else 127.0.0.1 on ENVOY_ADMIN_ACCESS_PORT (App Mesh's variable). */
  adminUrl?: string;
  /**
   * Seconds after `/healthcheck/fail` before the drain may end early on Envoy's stats (cover the
   * downstream health checks' interval × unhealthy threshold); env DRAIN_MIN. Unset: no early end.
   */
  drainMin?: number;
  /** Seconds with nothing in flight and no new request that count as "traffic stopped"; env DRAIN_QUIET_PERIOD; default 1. */
  quietPeriod?: number;
  /** Connection managers to watch; env ENVOY_STAT_PREFIXES (comma-separated); default every one but admin (App Mesh's is `ingress`). */
  statPrefixes?: string[];
}

const NAME = 'envoy';
const OPTIONS = ['adminUrl', 'drainMin', 'quietPeriod', 'statPrefixes'];

const statPrefixList = {
  expected: 'a list of stat prefixes such as ingress (comma-separated in the environment)',
  parse: (raw: unknown, fromEnv: boolean): string[] | undefined => {
    const list = fromEnv && typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : raw;
    return Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && /^[\w-]+$/.test(s)) ? list : undefined;
  },
};

export default function envoy(options: EnvoyOptions = {}): Plugin {
  return {
    name: NAME,
    apply(hooks, { env }) {
      const opts = checkOptions(`plugin "${NAME}"`, options, OPTIONS);
      const accessPort = readSetting({ option: 'adminAccessPort', env: 'ENVOY_ADMIN_ACCESS_PORT', parse: port, fallback: undefined }, {}, env);
      const fallback = accessPort === undefined ? envoyDefaults.adminUrl : `http://127.0.0.1:${accessPort}`;
      const adminUrl = readSetting({ option: 'adminUrl', env: 'ENVOY_ADMIN_URL', parse: httpUrl, fallback }, opts, env);
      const drainMin = readSetting({ option: 'drainMin', env: 'DRAIN_MIN', parse: seconds(10), fallback: undefined }, opts, env);
      const quietPeriod = readSetting({ option: 'quietPeriod', env: 'DRAIN_QUIET_PERIOD', parse: seconds(1), fallback: trafficDefaults.quietPeriod }, opts, env);
      const statPrefixes = readSetting({ option: 'statPrefixes', env: 'ENVOY_STAT_PREFIXES', parse: statPrefixList, fallback: [] }, opts, env);
      const watch: TrafficWatch | undefined =
        drainMin === undefined ? undefined : { drainMinMs: drainMin * 1000, quietMs: quietPeriod * 1000, statPrefixes };
      const admin = createAdminClient(adminUrl);
      const statsPath = `/stats?format=json&filter=${encodeURIComponent(TRAFFIC_STATS_FILTER)}`;

      // Stage 0: the drain's action; plugin-delay's DRAIN_TIMEOUT wait follows at a later stage.
      hooks.drain.tapPromise({ name: NAME }, async (ctx) => {
        const started = Date.now();
        await admin.post('/healthcheck/fail', ctx);
        ctx.logger.info({ adminUrl, ms: Date.now() - started }, 'envoy health check failed: callers will stop routing here');
        if (watch) {
          // The watch outlives this tap, so only its abortSignal (budget, end of the drain) bounds the reads.
          const request = { ...ctx, deadline: Infinity };
          const read = async (): Promise<Stat[]> => (JSON.parse(await admin.get(statsPath, request)) as { stats?: Stat[] }).stats ?? [];
          void watchTraffic(ctx, read, watch);
        }
      });
    },
  };
}
