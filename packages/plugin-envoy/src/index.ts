import {
  boolean,
  definePlugin,
  ENVOY_UPSTREAM_SERVED,
  listOf,
  oneOf,
  seconds,
  Stage,
  type HookContext,
  type PluginOptions,
} from '@task-helper/core';
import { createAdminClient } from './admin-client.ts';
import { adminPort, adminUrl as adminUrlParser } from './admin-url.ts';
import { closeInboundDefaults, closeInboundListeners } from './close-inbound.ts';
import { drainListenersCall, readEnvoyRelease, type EnvoyRelease } from './envoy-version.ts';
import { assertLive, waitUntilLive } from './readiness.ts';
import { upstreamServed } from './upstream-served.ts';
import {
  measurePace,
  trafficDefaults,
  trafficStatsFilter,
  watchTraffic,
  type PaceReader,
  type Stat,
  type TrafficWatch,
} from './traffic.ts';

const envoyDefaults = Object.freeze({
  adminUrl: 'http://127.0.0.1:9901',
  waitReady: true,
  drainListeners: 'off' as const,
  closeInbound: true,
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
    accessPort: {
      env: 'ENVOY_ADMIN_ACCESS_PORT',
      description:
        "App Mesh's variable: when set and `ENVOY_ADMIN_URL` is not, the admin API is `http://127.0.0.1:<port>`",
      parse: adminPort,
      envOnly: true,
    },
    adminUrl: {
      env: 'ENVOY_ADMIN_URL',
      description:
        "Envoy's admin API (else `http://127.0.0.1:$ENVOY_ADMIN_ACCESS_PORT`): plain `http://host:port` only (no https, credentials, path, query or fragment; not a port fetch refuses, such as 6000); redirects are never followed",
      parse: adminUrlParser,
      default: ({ accessPort }: Readonly<Record<string, unknown>>) =>
        accessPort === undefined ? envoyDefaults.adminUrl : `http://127.0.0.1:${accessPort}`,
    },
    waitReady: {
      env: 'ENVOY_WAIT_READY',
      description:
        "at start (`onStart`), wait until Envoy's `/ready` says `LIVE`, bounded by `START_TIMEOUT`; past it the step fails (exit 1) and the drain still runs",
      parse: boolean,
      default: envoyDefaults.waitReady,
    },
    drainMin: {
      env: 'DRAIN_MIN',
      description:
        "traffic-aware drain: seconds after `/healthcheck/fail` before `DRAIN_TIMEOUT` may end early, once Envoy's stats show nothing in flight and no caller's request answered for the quiet period (from the callers' pace, at most `DRAIN_QUIET_PERIOD`; it may lie within `DRAIN_MIN`). At least the callers' health check interval × unhealthy threshold. Unset: `DRAIN_TIMEOUT` never ends early",
      parse: seconds(10),
    },
    quietPeriod: {
      env: 'DRAIN_QUIET_PERIOD',
      description:
        "with `DRAIN_MIN`: the longest quiet period, in seconds, with nothing in flight and no caller's request answered, that counts as traffic stopped. The quiet period follows the callers' pace before the fail (Envoy's stats read every 0.5 s during `DRAIN_DELAY`): 10 of their mean gaps between requests, or the longest pause they made if longer, at least 0.2 s and at most this; callers that sent nothing then, or a `DRAIN_DELAY` too short for two reads (about 1 s), get all of it. Callers' requests are read from `downstream_rq_completed`, which leaves health checks out on every Envoy (1.29 to 1.40), so callers health-checking the task all through the drain do not hold it open",
      parse: seconds(1),
      default: trafficDefaults.quietPeriod,
    },
    statPrefixes: {
      env: 'ENVOY_STAT_PREFIXES',
      description:
        "with `DRAIN_MIN`: the stat prefixes of the connection managers to watch, such as `ingress` (App Mesh's) or `inbound_0.0.0.0_15000` (dots allowed), comma-separated in the environment; none: every connection manager but `admin`",
      parse: statPrefixList,
      default: [],
    },
    drainListeners: {
      env: 'ENVOY_DRAIN_LISTENERS',
      description:
        "`all` or `inbound`: after `/healthcheck/fail`, also POST `/drain_listeners?graceful&skip_exit` (`inbound` adds `&inboundonly`), so Envoy closes connections on listeners the health check does not cover while still accepting new ones. Envoy's version is read from `/server_info` at start (before 1.34, `inbound` drains outbound listeners too: a warning says so); each release's behaviour: plugin-envoy's README",
      parse: oneOf(['off', 'all', 'inbound']),
      default: envoyDefaults.drainListeners,
    },
    closeInbound: {
      env: 'ENVOY_CLOSE_INBOUND',
      description:
        'in `afterDrain`, just before the helper exits (and ECS stops the app), POST `/drain_listeners?inboundonly` (within 1 s): Envoy stops accepting on its `traffic_direction: INBOUND` listeners, so callers still sending (outlier detection only, which ignores `/healthcheck/fail`) get a refused connection, which a `connect-failure` retry policy sends elsewhere, instead of a 503 once the app has stopped; outbound listeners keep accepting, open connections are still served. Not after a skipped drain (a task that never served). A listener without `traffic_direction: INBOUND` is not closed. A failed call is one warning, never a failed stop. `false`: leave every listener open',
      parse: boolean,
      default: envoyDefaults.closeInbound,
    },
    quit: {
      env: 'ENVOY_QUIT',
      description: '`true`: POST `/quitquitquit` in `afterDrain`, so Envoy exits as soon as the helper is done',
      parse: boolean,
      default: envoyDefaults.quit,
    },
  },
  apply(hooks, { settings }) {
    const { adminUrl, waitReady, drainMin, quietPeriod, statPrefixes, drainListeners, closeInbound, quit } = settings;
    const watch: TrafficWatch | undefined =
      drainMin === undefined ? undefined : { drainMinMs: drainMin * 1000, quietMs: quietPeriod * 1000, statPrefixes };
    const admin = createAdminClient(adminUrl);
    const statsPath = `/stats?format=json&filter=${encodeURIComponent(trafficStatsFilter(statPrefixes))}`;
    // The reads outlive their tap: its abortSignal (budget, end of its hook) and the GET's own 3 s bound them.
    const readStats = (ctx: HookContext) => async (): Promise<Stat[]> =>
      (JSON.parse(await admin.get(statsPath, { ...ctx, deadline: Infinity })) as { stats?: Stat[] }).stats ?? [];
    let pace: PaceReader | undefined;
    // Read at start, never at the drain: /healthcheck/fail must not wait for it (envoy-version.ts).
    let release: EnvoyRelease | undefined;

    if (waitReady) {
      hooks.onStart.tapPromise({ timeout: Infinity, plan: { label: 'wait until envoy /ready is LIVE' } }, (ctx) =>
        waitUntilLive(admin, ctx),
      );
    }
    if (drainListeners !== 'off') {
      hooks.onStart.tapPromise(
        { plan: { label: `read envoy's version from /server_info, for ENVOY_DRAIN_LISTENERS=${drainListeners}` } },
        async (ctx) => void (release = await readEnvoyRelease(admin, ctx, drainListeners)),
      );
    }
    hooks.health.tapPromise({}, (ctx) => assertLive(admin, ctx));

    // For the app check, which asks only when nothing listens on the app's port: did Envoy ever reach it?
    hooks.beforeDrain.tapPromise(
      {
        stage: Stage.BEFORE_DRAIN_FACTS,
        plan: { label: 'let the app check ask /clusters whether Envoy ever reached the app' },
      },
      async (ctx) =>
        void ctx.shared.set(ENVOY_UPSTREAM_SERVED, (host, signal) => upstreamServed(admin, host, ctx, signal)),
    );

    // Right after the app check, which may skip the drain: node:http loads while DRAIN_DELAY
    // runs, not at start (an idle helper never carries it), and not on /healthcheck/fail's time.
    hooks.beforeDrain.tapPromise(
      { stage: Stage.BEFORE_DRAIN_PREPARE, plan: { label: 'load the admin client for the drain' } },
      async () => void admin.warm(),
    );

    // The callers' pace from the stop signal to the fail (DRAIN_DELAY), which the quiet period
    // follows: reads in the background until beforeDrain is over, so the fail never waits for them.
    if (watch) {
      hooks.beforeDrain.tapPromise(
        {
          stage: Stage.BEFORE_DRAIN_PREPARE,
          plan: { label: "read the callers' pace during DRAIN_DELAY, for the quiet period (DRAIN_MIN)" },
        },
        async (ctx) => void (pace = measurePace(ctx, readStats(ctx), statPrefixes)),
      );
    }

    // The drain's action; plugin-delay's DRAIN_TIMEOUT wait follows at Stage.DRAIN_WAIT.
    const label = [
      'POST /healthcheck/fail',
      drainListeners === 'off' ? '' : `, then POST ${drainListenersCall(drainListeners, undefined).path}`,
      watch ? `; DRAIN_TIMEOUT may end ${drainMin} s after it, once traffic stops` : '',
    ].join('');
    // The drain's action: no tap before it may spend its time, and only the budget bounds it (a slow
    // Envoy still counts). Its fallback is what core's watchdog POSTs if the main thread is blocked.
    hooks.drain.tapPromise(
      {
        stage: Stage.DRAIN_ACTION,
        drainAction: true,
        fallback: { post: `${adminUrl}/healthcheck/fail` },
        timeout: Infinity,
        plan: { label },
      },
      async (ctx) => {
        const started = Date.now();
        await admin.post('/healthcheck/fail', ctx);
        ctx.logger.info(
          { adminUrl, ms: Date.now() - started },
          'envoy health check failed: callers will stop routing here',
        );
        if (watch) void watchTraffic(ctx, readStats(ctx), watch, pace?.());
        if (drainListeners !== 'off') {
          const { path } = drainListenersCall(drainListeners, release);
          await admin.post(path, ctx);
          ctx.logger.info({ inboundOnly: drainListeners === 'inbound', path }, 'envoy listeners draining');
        }
      },
    );

    if (closeInbound) {
      hooks.afterDrain.tapPromise(
        {
          stage: Stage.AFTER_DRAIN_CLOSE_INBOUND,
          // The call keeps to its own second (closeInboundDefaults.withinMs); this only backs it up.
          timeout: 2 * closeInboundDefaults.withinMs,
          plan: { label: `POST ${closeInboundDefaults.path}: new connections to inbound listeners refused` },
        },
        // A skipped drain is a task that never served: no caller to turn away, and no admin call but /clusters.
        async (ctx) => {
          if (ctx.skipped === undefined) await closeInboundListeners(admin, ctx);
        },
      );
    }
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
