import type { Logger } from 'pino';
import { firstLine, type ResolvedConfig } from '@task-helper/core';
import {
  ConfigError,
  METADATA_ENV,
  plannedWaits,
  readCoreSettings,
  Runner,
  stopBudgetMs,
  stopSchedule,
  watchStop,
  type Watchdog,
} from '@task-helper/core/host';
import type { SignalCatcher } from './signals.ts';

/**
 * `run` only: the config's loading bounded by START_TIMEOUT (from the environment: the file's own
 * is not known yet), so a load that never settles (a top-level await) ends in one line and exit 78,
 * never Node's silent 13 nor silence until SIGKILL. A stop signal while it loads puts the stop's
 * schedule in charge instead: the load may go on until the drain's action is due, and if it is
 * still loading then, the default plugins' fallback (plugin-envoy: POST /healthcheck/fail to the
 * environment's admin URL) goes out through the watchdog, the drain's wait runs, and the helper
 * exits 78. The stop's budget counts from the signal's arrival either way (signals.ts).
 */
export function guardLoad(
  load: Promise<ResolvedConfig>,
  { signals, env, logger, file }: { signals: SignalCatcher; env: NodeJS.ProcessEnv; logger: Logger; file: string },
): Promise<ResolvedConfig> {
  return new Promise((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let watchdog: Watchdog | undefined;
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      watchdog?.over();
      finish();
    };
    const fail = (message: string): void => settle(() => reject(new ConfigError(`${file}: ${message}`)));
    load.then(
      (config) => settle(() => resolve(config)),
      (error: unknown) => settle(() => reject(error)),
    );
    let core: ReturnType<typeof readCoreSettings>;
    try {
      core = readCoreSettings({}, env);
    } catch {
      return; // the load reports the same bad setting
    }
    const { startTimeout } = core;
    timers.push(
      setTimeout(
        () =>
          fail(
            `still loading after START_TIMEOUT=${startTimeout} s (a top-level await that never settles?); fix the file or raise START_TIMEOUT`,
          ),
        startTimeout * 1000,
      ),
    );
    signals.onFirstStop(async (signal, at) => {
      if (settled) return;
      const fallback = await fallbackStop(core, signal, env, logger);
      if (settled || !fallback) return;
      clearTimeout(timers.shift());
      const { schedule, runner } = fallback;
      watchdog = watchStop(runner.hooks, schedule, at, logger.child({ phase: 'stop' }));
      logger.warn(
        { phase: 'stop', signal, actionDueInMs: schedule.actionDueMs },
        'stop signal received while the config loads',
      );
      timers.push(
        setTimeout(
          async () => {
            const posted = watchdog
              ? await watchdog.postNow('the config was still loading when the action was due')
              : { ok: false, error: 'no drain action' };
            const wait = Math.max(0, at + schedule.abortAtMs - Date.now());
            timers.push(
              setTimeout(
                () =>
                  fail(
                    `still loading when the drain's action was due (${schedule.actionDueMs} ms after ${signal}): ${posted.ok ? "the health check fail went out to the environment's Envoy" : `the health check fail could not go out (${posted.error ?? posted.status})`}; fix the file (a top-level await that never settles?)`,
                  ),
                wait,
              ),
            );
          },
          Math.max(0, at + schedule.actionDueMs - Date.now()),
        ),
      );
    });
  });
}

/**
 * What a stop would do with no config file, from the environment alone: the default plugins'
 * schedule and drain action. Loaded only now: a helper with a config file of its own never carries them.
 */
async function fallbackStop(
  core: ReturnType<typeof readCoreSettings>,
  signal: NodeJS.Signals,
  env: NodeJS.ProcessEnv,
  logger: Logger,
) {
  try {
    const { defaultPlugins } = await import('./default-config.ts');
    // In ECS with STOP_TIMEOUT unset, the task definition cannot be read in time here: plan with
    // ECS's own default, as the start does when it cannot read it, never core's 120 s (SIGKILL
    // would land before the action is due).
    const inEcsUnset = env[METADATA_ENV] && core.settings.find((s) => s.env === 'STOP_TIMEOUT')?.source === 'default';
    const stopTimeout = inEcsUnset
      ? (await import('@task-helper/plugin-aws/ecs-stop-timeout')).ECS_DEFAULT_STOP_TIMEOUT
      : core.stopTimeout;
    const config = { file: undefined, ...core, stopTimeout, plugins: defaultPlugins() };
    // Silent: its plugins' setup warnings are the real config's to give.
    const runner = new Runner({ config, logger: logger.child({}, { level: 'silent' }), env });
    // On Kubernetes a signal this early is a native sidecar's, with the kubelet's 2 s (stopBudgetMs).
    const budgetMs = stopBudgetMs(stopTimeout, signal, core.preStop !== undefined);
    return { runner, schedule: stopSchedule(plannedWaits(runner.hooks, budgetMs)) };
  } catch (error) {
    // A bad setting: the load reports it (START_TIMEOUT still bounds the load).
    logger.warn({ phase: 'stop', error: firstLine(error) }, 'no fallback drain while the config loads');
    return undefined;
  }
}
