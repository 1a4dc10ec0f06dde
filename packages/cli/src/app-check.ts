import { boolean, definePlugin, httpGet, port, Stage, urlPath, type HookContext, type PluginOptions, type SkipDrain } from '@task-helper/core';

export const appCheckDefaults = Object.freeze({
  enabled: true,
  port: 8080,
  path: '/ping/ping',
  waitReady: false,
  /** The original helper's timeout for this check. */
  timeoutMs: 2_500,
  retryMs: 500,
  /** `task-helper health` must answer well inside ECS's 5 s. */
  healthTimeoutMs: 1_000,
});

/**
 * At the stop signal, skips the whole drain when the app does not answer: a task that failed
 * while starting has no traffic to drain, and waiting would only delay its replacement. Any HTTP
 * answer, redirects and errors included, means the app is up.
 */
const appCheck = definePlugin({
  name: 'app-check',
  settings: {
    /** APP_CHECK=false turns the check off. */
    enabled: { env: 'APP_CHECK', parse: boolean, default: appCheckDefaults.enabled },
    /** The app's port on 127.0.0.1. */
    port: { env: 'PORT', parse: port, default: appCheckDefaults.port },
    path: { env: 'HEALTHCHECK_PATH', parse: urlPath, default: appCheckDefaults.path },
    /** In onStart, wait until the app answers before `ready`. */
    waitReady: { env: 'APP_WAIT_READY', parse: boolean, default: appCheckDefaults.waitReady },
  },
  apply(hooks, { settings }) {
    if (!settings.enabled) return;
    const url = `http://127.0.0.1:${settings.port}${settings.path}`;

    if (settings.waitReady) {
      hooks.onStart.tapPromise({ timeout: Infinity, plan: { label: `wait until the app answers ${url}` } }, (ctx) => waitForApp(url, ctx));
    }
    hooks.beforeDrain.tapPromise(
      { stage: Stage.BEFORE_DRAIN_DECIDE, timeout: appCheckDefaults.timeoutMs + 1_000, plan: { label: `skip the drain if ${url} does not answer` } },
      (ctx) => skipIfDown(url, ctx),
    );
    hooks.health.tapPromise({}, async (ctx) => {
      try {
        await httpGet(url, ctx.abortSignal, appCheckDefaults.healthTimeoutMs);
      } catch (error) {
        throw new Error(`app not answering at ${url} (${reasonOf(error)})`);
      }
    });
  },
});
export default appCheck;

export type AppCheckOptions = PluginOptions<typeof appCheck.settings>;

async function skipIfDown(url: string, ctx: HookContext): Promise<SkipDrain | undefined> {
  try {
    const { status } = await httpGet(url, ctx.abortSignal, appCheckDefaults.timeoutMs);
    ctx.logger.info({ url, status }, 'app is up');
    return undefined;
  } catch (error) {
    const reason = reasonOf(error);
    ctx.logger.warn({ url, reason }, 'app is not reachable: the task failed while starting, skipping the drain');
    return { skip: `app not reachable at ${url} (${reason})` };
  }
}

async function waitForApp(url: string, ctx: HookContext): Promise<void> {
  const started = Date.now();
  let reason = '';
  while (!ctx.abortSignal.aborted) {
    try {
      const { status } = await httpGet(url, ctx.abortSignal, appCheckDefaults.timeoutMs);
      ctx.logger.info({ url, status, ms: Date.now() - started }, 'app is up');
      return;
    } catch (error) {
      if (reason === '') ctx.logger.info({ url, reason: reasonOf(error) }, 'waiting for the app to answer');
      reason = reasonOf(error);
    }
    await ctx.sleep(appCheckDefaults.retryMs);
  }
  throw new Error(`app did not answer at ${url} within ${Date.now() - started} ms (last: ${reason}); carrying on`);
}

function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}
