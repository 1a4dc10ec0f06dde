import { boolean, definePlugin, listOf, oneOf, seconds, Stage, type PluginOptions } from '@task-helper/core';
import { createAdminClient } from './admin-client.ts';
import { adminPort, adminUrl as adminUrlParser } from './admin-url.ts';
import { assertLive, waitUntilLive } from './readiness.ts';
import { trafficDefaults, trafficStatsFilter, watchTraffic, type Stat, type TrafficWatch } from './traffic.ts';

const envoyDefaults = Object.freeze({
  adminUrl: 'http://127.0.0.1:9901',
  waitReady: true,
  drainListeners: 'off' as const,
  quit: false,
});

const statPrefixList = listOf(
  'a list of stat prefixes such as ingress or inbound_0.0.0.0_15000 (comma-separated in the environment)',
  /^[\w-]+(\.[\w-]+)*$/,
);

/** Envoy's admin API: wait for `/ready`, POST `/healthcheck/fail` to start the drain, and watch its traffic. */
const envoy = definePlugin({
  name: 'envoy',
  settings: {
    /** App Mesh's variable: the admin API on 127.0.0.1 at this port, unless ENVOY_ADMIN_URL says otherwise. */
    accessPort: { env: 'ENVOY_ADMIN_ACCESS_PORT', parse: adminPort, envOnly: true },
    /** Envoy's admin API; else 127.0.0.1 on ENVOY_ADMIN_ACCESS_PORT. */
    adminUrl: {
      env: 'ENVOY_ADMIN_URL',
      parse: adminUrlParser,
      default: ({ accessPort }: Readonly<Record<string, unknown>>) =>
        accessPort === undefined ? envoyDefaults.adminUrl : `http://127.0.0.1:${accessPort}`,
    },
    /** In onStart, wait until `/ready` answers LIVE (bounded by START_TIMEOUT). */
    waitReady: { env: 'ENVOY_WAIT_READY', parse: boolean, default: envoyDefaults.waitReady },
    /**
     * Seconds after `/healthcheck/fail` before the drain may end early on Envoy's stats (cover the
     * downstream health checks' interval × unhealthy threshold). Unset: no early end.
     */
    drainMin: { env: 'DRAIN_MIN', parse: seconds(10) },
    /** Seconds with nothing in flight and no new request that count as "traffic stopped". */
    quietPeriod: { env: 'DRAIN_QUIET_PERIOD', parse: seconds(1), default: trafficDefaults.quietPeriod },
    /** Connection managers to watch (comma-separated in the environment); default every one but admin (App Mesh's is `ingress`). */
    statPrefixes: { env: 'ENVOY_STAT_PREFIXES', parse: statPrefixList, default: [] },
    /** After `/healthcheck/fail`, also POST `/drain_listeners?graceful&skip_exit` (`inbound`: with `inboundonly`). */
    drainListeners: {
      env: 'ENVOY_DRAIN_LISTENERS',
      parse: oneOf(['off', 'all', 'inbound']),
      default: envoyDefaults.drainListeners,
    },
    /** In afterDrain, POST `/quitquitquit` so Envoy exits as soon as the helper is done. */
    quit: { env: 'ENVOY_QUIT', parse: boolean, default: envoyDefaults.quit },
  },
  apply(hooks, { settings }) {
    const { adminUrl, waitReady, drainMin, quietPeriod, statPrefixes, drainListeners, quit } = settings;
    const watch: TrafficWatch | undefined =
      drainMin === undefined ? undefined : { drainMinMs: drainMin * 1000, quietMs: quietPeriod * 1000, statPrefixes };
    const admin = createAdminClient(adminUrl);
    const statsPath = `/stats?format=json&filter=${encodeURIComponent(trafficStatsFilter(statPrefixes))}`;
    // skip_exit: without it Envoy (1.40, checked on the binary) closes the listeners when its
    // --drain-time-s ends, refusing callers that have not noticed the drain yet; the helper's
    // DRAIN_TIMEOUT, not Envoy's flag, decides when the task stops taking connections.
    const drainListenersPath = `/drain_listeners?graceful&skip_exit${drainListeners === 'inbound' ? '&inboundonly' : ''}`;

    if (waitReady) {
      hooks.onStart.tapPromise({ timeout: Infinity, plan: { label: 'wait until envoy /ready is LIVE' } }, (ctx) =>
        waitUntilLive(admin, ctx),
      );
    }
    hooks.health.tapPromise({}, (ctx) => assertLive(admin, ctx));

    // Right after the app check, which may skip the drain: ky loads (about 30 ms) while
    // DRAIN_DELAY runs, so /healthcheck/fail goes out on time.
    hooks.beforeDrain.tapPromise(
      { stage: Stage.BEFORE_DRAIN_PREPARE, plan: { label: 'load the admin client for the drain' } },
      async () => void admin.warm(),
    );

    // The drain's action; plugin-delay's DRAIN_TIMEOUT wait follows at Stage.DRAIN_WAIT.
    const label = [
      'POST /healthcheck/fail',
      drainListeners === 'off' ? '' : `, then POST ${drainListenersPath}`,
      watch ? `; DRAIN_TIMEOUT may end ${drainMin} s after it, once traffic stops` : '',
    ].join('');
    // The drain's action: no tap before it may spend its time, and only the budget bounds it (a slow Envoy still counts).
    hooks.drain.tapPromise(
      { stage: Stage.DRAIN_ACTION, drainAction: true, timeout: Infinity, plan: { label } },
      async (ctx) => {
        const started = Date.now();
        await admin.post('/healthcheck/fail', ctx);
        ctx.logger.info(
          { adminUrl, ms: Date.now() - started },
          'envoy health check failed: callers will stop routing here',
        );
        if (watch) {
          // The watch outlives this tap, so only its abortSignal (budget, end of the drain) bounds the reads.
          const request = { ...ctx, deadline: Infinity };
          const read = async (): Promise<Stat[]> =>
            (JSON.parse(await admin.get(statsPath, request)) as { stats?: Stat[] }).stats ?? [];
          void watchTraffic(ctx, read, watch);
        }
        if (drainListeners !== 'off') {
          await admin.post(drainListenersPath, ctx);
          ctx.logger.info({ inboundOnly: drainListeners === 'inbound' }, 'envoy listeners draining');
        }
      },
    );

    if (quit) {
      hooks.afterDrain.tapPromise(
        { stage: Stage.AFTER_DRAIN_QUIT, plan: { label: 'POST /quitquitquit' } },
        async (ctx) => {
          await admin.post('/quitquitquit', ctx);
          ctx.logger.info('envoy told to quit');
        },
      );
    }
  },
});
export default envoy;

export type EnvoyOptions = PluginOptions<typeof envoy.settings>;
