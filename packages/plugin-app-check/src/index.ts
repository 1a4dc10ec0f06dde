import {
  boolean,
  definePlugin,
  ENVOY_UPSTREAM_SERVED,
  errorText,
  httpGet,
  port,
  Stage,
  urlPath,
  type HookContext,
  type PluginOptions,
  type SkipDrain,
  type StopContext,
} from '@task-helper/core';
import { probePort } from './port-probe.ts';

const DEFAULTS = Object.freeze({
  enabled: true,
  port: 8080,
  path: '/ping/ping',
  waitReady: false,
  /** The original helper's timeout for this check. */
  timeoutMs: 2_500,
  retryMs: 500,
  /** At the stop, how long a refused connection waits for Envoy to say whether the app ever served. */
  envoyAnswerMs: 1_000,
  /** `task-helper health` must answer well inside ECS's 5 s. */
  healthTimeoutMs: 1_000,
});

/**
 * At the stop signal, skips the whole drain only when nothing listens on the app's port (the
 * connection is refused) and nothing shows the app ever served: a task that failed while starting
 * has no traffic to drain, and waiting would only delay its replacement. An app that answered at
 * start (`APP_WAIT_READY`), or that Envoy ever reached (plugin-envoy's `ENVOY_UPSTREAM_SERVED`), has
 * crashed since: callers still route to the task, so it drains. An app that accepts the
 * connection is live and drained, whatever it speaks and however slowly it answers; so is one the
 * check cannot tell about (no answer to the connection in time, the check cut by the stop
 * budget): a skipped drain drops requests, a needless one only costs time.
 */
const appCheck = definePlugin({
  name: 'app-check',
  settings: {
    enabled: {
      env: 'APP_CHECK',
      description:
        "at the stop signal, skip the drain only when nothing listens on the app's port (connection refused) and nothing shows the app ever served: not an answer at start (`APP_WAIT_READY`), not a connection Envoy's `/clusters` shows it accepted (plugin-envoy, asked for at most 1 s). A crashed app is drained, so callers leave. An app that accepts the connection is drained, whatever it speaks (HTTP/2-only and gRPC apps included) and however slowly it answers; so is one the check cannot tell about. `false`: no app check at all: none at the stop, in `task-helper health` or for `APP_WAIT_READY`",
      parse: boolean,
      default: DEFAULTS.enabled,
    },
    port: {
      env: 'PORT',
      description:
        "the app's port on 127.0.0.1: the stop-time check opens a connection to it; `task-helper health` and `APP_WAIT_READY` ask `http://127.0.0.1:$PORT$HEALTHCHECK_PATH`",
      parse: port,
      default: DEFAULTS.port,
    },
    path: {
      env: 'HEALTHCHECK_PATH',
      description:
        'the path `task-helper health` (within 1 s) and `APP_WAIT_READY` ask on the app; any HTTP status counts as an answer',
      parse: urlPath,
      default: DEFAULTS.path,
    },
    waitReady: {
      env: 'APP_WAIT_READY',
      description: 'at start (`onStart`), wait until the app answers, bounded by `START_TIMEOUT`',
      parse: boolean,
      default: DEFAULTS.waitReady,
    },
  },
  apply(hooks, { settings }) {
    if (!settings.enabled) return;
    const url = `http://127.0.0.1:${settings.port}${settings.path}`;
    const seen = { answeredAtStart: false };

    if (settings.waitReady) {
      hooks.onStart.tapPromise(
        { timeout: Infinity, plan: { label: `wait until the app answers ${url}` } },
        async (ctx) => {
          await waitForApp(url, ctx);
          seen.answeredAtStart = true;
        },
      );
    }
    hooks.beforeDrain.tapPromise(
      {
        stage: Stage.BEFORE_DRAIN_DECIDE,
        timeout: DEFAULTS.timeoutMs + 1_000,
        plan: {
          label: `skip the drain if nothing listens on 127.0.0.1:${settings.port} and nothing shows it ever served`,
        },
      },
      (ctx) => skipIfNothingListens(settings.port, seen.answeredAtStart, ctx),
    );
    hooks.health.tapPromise({}, async (ctx) => {
      try {
        await httpGet(url, ctx.abortSignal, DEFAULTS.healthTimeoutMs);
      } catch (error) {
        throw new Error(`app not answering at ${url} (${reasonOf(error)})`);
      }
    });
  },
});
export default appCheck;

export type AppCheckOptions = PluginOptions<typeof appCheck.settings>;

async function skipIfNothingListens(
  appPort: number,
  answeredAtStart: boolean,
  ctx: StopContext,
): Promise<SkipDrain | undefined> {
  const probe = await probePort('127.0.0.1', appPort, ctx.abortSignal, DEFAULTS.timeoutMs);
  if (probe.listening) {
    ctx.logger.info({ port: appPort }, 'app is up');
    return undefined;
  }
  if (!probe.refused) {
    ctx.logger.warn({ port: appPort, reason: probe.reason }, 'app state unknown: draining anyway');
    return undefined;
  }
  const served = answeredAtStart ? 'it answered at start' : await envoyReachedApp(appPort, ctx);
  if (served) {
    ctx.logger.warn(
      { port: appPort, reason: probe.reason, served },
      'app is gone but it served: draining so callers leave',
    );
    return undefined;
  }
  ctx.logger.warn(
    { port: appPort, reason: probe.reason },
    'app is not reachable: the task failed while starting, skipping the drain',
  );
  return { skip: `app not reachable: nothing listening on 127.0.0.1:${appPort} (${probe.reason})` };
}

/** Why Envoy shows the app served (`Envoy connected to it`), or `undefined` when it shows nothing or cannot tell within envoyAnswerMs. */
async function envoyReachedApp(appPort: number, ctx: StopContext): Promise<string | undefined> {
  const ask = ctx.shared.get(ENVOY_UPSTREAM_SERVED);
  if (!ask) return undefined;
  try {
    const signal = AbortSignal.any([ctx.abortSignal, AbortSignal.timeout(DEFAULTS.envoyAnswerMs)]);
    return (await ask(`127.0.0.1:${appPort}`, signal)) ? "Envoy's /clusters shows connections it accepted" : undefined;
  } catch (error) {
    ctx.logger.warn({ port: appPort, reason: reasonOf(error) }, 'envoy could not say whether the app ever served');
    return undefined;
  }
}

async function waitForApp(url: string, ctx: HookContext): Promise<void> {
  const started = Date.now();
  let reason = '';
  while (!ctx.abortSignal.aborted) {
    try {
      const { status } = await httpGet(url, ctx.abortSignal, DEFAULTS.timeoutMs);
      ctx.logger.info({ url, status, ms: Date.now() - started }, 'app is up');
      return;
    } catch (error) {
      if (reason === '') ctx.logger.info({ url, reason: reasonOf(error) }, 'waiting for the app to answer');
      reason = reasonOf(error);
    }
    await ctx.sleep(DEFAULTS.retryMs);
  }
  throw new Error(`app did not answer at ${url} within ${Date.now() - started} ms (last: ${reason}); carrying on`);
}

function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? errorText(error);
}
