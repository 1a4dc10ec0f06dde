import { boolean, checkOptions, oneOf, seconds, type Plugin } from '@task-helper/core';
import { createAdminClient } from './admin-client.ts';
import { adminPort, adminUrl as adminUrlParser } from './admin-url.ts';
import { assertLive, waitUntilLive } from './readiness.ts';
import { trafficDefaults, trafficStatsFilter, watchTraffic, type Stat, type TrafficWatch } from './traffic.ts';

export { adminRequestDefaults, AdminRequestError, createAdminClient, type AdminClient, type AdminRequest } from './admin-client.ts';
export { readinessDefaults } from './readiness.ts';
export { sampleTraffic, trafficDefaults, trafficStatsFilter, watchTraffic, type Stat, type TrafficSample, type TrafficWatch } from './traffic.ts';

export const envoyDefaults = Object.freeze({ adminUrl: 'http://127.0.0.1:9901', waitReady: true, drainListeners: 'off' as const, quit: false });

export interface EnvoyOptions {
  /** Envoy's admin API; env ENVOY_ADMIN_URL, else 127.0.0.1 on ENVOY_ADMIN_ACCESS_PORT (App Mesh's variable). */
  adminUrl?: string;
  /** In onStart, wait until `/ready` answers LIVE (bounded by START_TIMEOUT); env ENVOY_WAIT_READY; default true. */
  waitReady?: boolean;
  /**
   * Seconds after `/healthcheck/fail` before the drain may end early on Envoy's stats (cover the
   * downstream health checks' interval × unhealthy threshold); env DRAIN_MIN. Unset: no early end.
   */
  drainMin?: number;
  /** Seconds with nothing in flight and no new request that count as "traffic stopped"; env DRAIN_QUIET_PERIOD; default 1. */
  quietPeriod?: number;
  /** Connection managers to watch; env ENVOY_STAT_PREFIXES (comma-separated); default every one but admin (App Mesh's is `ingress`). */
  statPrefixes?: string[];
  /** After `/healthcheck/fail`, also POST `/drain_listeners?graceful&skip_exit` (`inbound`: with `inboundonly`); env ENVOY_DRAIN_LISTENERS; default off. */
  drainListeners?: 'off' | 'all' | 'inbound';
  /** In afterDrain, POST `/quitquitquit` so Envoy exits as soon as the helper is done; env ENVOY_QUIT; default false. */
  quit?: boolean;
}

const NAME = 'envoy';
const OPTIONS = ['adminUrl', 'waitReady', 'drainMin', 'quietPeriod', 'statPrefixes', 'drainListeners', 'quit'];

const statPrefixList = {
  expected: 'a list of stat prefixes such as ingress or inbound_0.0.0.0_15000 (comma-separated in the environment)',
  parse: (raw: unknown, fromEnv: boolean): string[] | undefined => {
    const list = fromEnv && typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : raw;
    return Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && /^[\w-]+(\.[\w-]+)*$/.test(s)) ? list : undefined;
  },
};

export default function envoy(options: EnvoyOptions = {}): Plugin {
  return {
    name: NAME,
    apply(hooks, { setting }) {
      const opts = checkOptions(options, OPTIONS);
      const accessPort = setting({ env: 'ENVOY_ADMIN_ACCESS_PORT', parse: adminPort, fallback: undefined }, opts);
      const fallback = accessPort === undefined ? envoyDefaults.adminUrl : `http://127.0.0.1:${accessPort}`;
      const adminUrl = setting({ option: 'adminUrl', env: 'ENVOY_ADMIN_URL', parse: adminUrlParser, fallback }, opts);
      const waitReady = setting({ option: 'waitReady', env: 'ENVOY_WAIT_READY', parse: boolean, fallback: envoyDefaults.waitReady }, opts);
      const drainMin = setting({ option: 'drainMin', env: 'DRAIN_MIN', parse: seconds(10), fallback: undefined }, opts);
      const quietPeriod = setting({ option: 'quietPeriod', env: 'DRAIN_QUIET_PERIOD', parse: seconds(1), fallback: trafficDefaults.quietPeriod }, opts);
      const statPrefixes = setting({ option: 'statPrefixes', env: 'ENVOY_STAT_PREFIXES', parse: statPrefixList, fallback: [] }, opts);
      const drainListeners = setting({ option: 'drainListeners', env: 'ENVOY_DRAIN_LISTENERS', parse: oneOf(['off', 'all', 'inbound']), fallback: envoyDefaults.drainListeners }, opts);
      const quit = setting({ option: 'quit', env: 'ENVOY_QUIT', parse: boolean, fallback: envoyDefaults.quit }, opts);
      const watch: TrafficWatch | undefined =
        drainMin === undefined ? undefined : { drainMinMs: drainMin * 1000, quietMs: quietPeriod * 1000, statPrefixes };
      const admin = createAdminClient(adminUrl);
      const statsPath = `/stats?format=json&filter=${encodeURIComponent(trafficStatsFilter(statPrefixes))}`;
      // skip_exit: without it Envoy (1.40, checked on the binary) closes the listeners when its
      // --drain-time-s ends, refusing callers that have not noticed the drain yet; the helper's
      // DRAIN_TIMEOUT, not Envoy's flag, decides when the task stops taking connections.
      const drainListenersPath = `/drain_listeners?graceful&skip_exit${drainListeners === 'inbound' ? '&inboundonly' : ''}`;

      if (waitReady) {
        hooks.onStart.tapPromise({ name: NAME, timeout: Infinity, plan: { label: 'wait until envoy /ready is LIVE' } }, (ctx) => waitUntilLive(admin, ctx));
      }
      hooks.health.tapPromise({ name: NAME }, (ctx) => assertLive(admin, ctx));

      // Right after the app check (stage -100), which may skip the drain: ky loads (about 30 ms)
      // while DRAIN_DELAY runs, so /healthcheck/fail goes out on time.
      hooks.beforeDrain.tapPromise({ name: NAME, stage: -50, plan: { label: 'load the admin client for the drain' } }, async () => void admin.warm());

      // Stage 0: the drain's action; plugin-delay's DRAIN_TIMEOUT wait follows at a later stage.
      const label = [
        'POST /healthcheck/fail',
        drainListeners === 'off' ? '' : `, then POST ${drainListenersPath}`,
        watch ? `; DRAIN_TIMEOUT may end ${drainMin} s after it, once traffic stops` : '',
      ].join('');
      hooks.drain.tapPromise({ name: NAME, plan: { label } }, async (ctx) => {
        const started = Date.now();
        await admin.post('/healthcheck/fail', ctx);
        ctx.logger.info({ adminUrl, ms: Date.now() - started }, 'envoy health check failed: callers will stop routing here');
        if (watch) {
          // The watch outlives this tap, so only its abortSignal (budget, end of the drain) bounds the reads.
          const request = { ...ctx, deadline: Infinity };
          const read = async (): Promise<Stat[]> => (JSON.parse(await admin.get(statsPath, request)) as { stats?: Stat[] }).stats ?? [];
          void watchTraffic(ctx, read, watch);
        }
        if (drainListeners !== 'off') {
          await admin.post(drainListenersPath, ctx);
          ctx.logger.info({ inboundOnly: drainListeners === 'inbound' }, 'envoy listeners draining');
        }
      });

      if (quit) {
        hooks.afterDrain.tapPromise({ name: NAME, plan: { label: 'POST /quitquitquit' } }, async (ctx) => {
          await admin.post('/quitquitquit', ctx);
          ctx.logger.info('envoy told to quit');
        });
      }
    },
  };
}
