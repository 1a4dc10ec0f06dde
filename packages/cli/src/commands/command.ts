import type { Logger } from 'pino';
import { METADATA_ENV, type ResolvedConfig } from '@task-helper/core';
import { loadConfig } from '../config.ts';
import {
  createLogger,
  defaults,
  ExitCode,
  ExitError,
  exitProcess,
  identifyTask,
  LogLines,
  resolveCoreSetting,
  Runner,
  type LogLevel,
} from '@task-helper/core/host';

export interface CommandOptions {
  config?: string | undefined;
  logLevel?: LogLevel | undefined;
}

export interface Loaded {
  runner: Runner;
  logger: Logger;
  exit(code: number): never;
}

/**
 * What every command shares: a logger, the config and a runner with the plugins applied, and one
 * exit path that reports errors (one line for what the operator can fix; a stack only for our bugs).
 * `run` logs to stdout; `plan` and `health` print their answer there and log to stderr.
 */
export async function command(
  options: CommandOptions,
  body: (loaded: Loaded) => Promise<void>,
  {
    logTo = 1 as 1 | 2,
    readStopTimeout = true,
    guardLoad,
  }: {
    logTo?: 1 | 2;
    readStopTimeout?: boolean;
    /** `run`'s bounds on the config's loading (load-guard.ts). */
    guardLoad?: (load: Promise<ResolvedConfig>, logger: Logger) => Promise<ResolvedConfig>;
  } = {},
): Promise<void> {
  const { env } = process;
  const lines = new LogLines(logTo);
  const logger = createLogger('info', lines);
  let runner: Runner | undefined;
  const exit = (code: number): never => {
    // Within the stop budget (a stalled log consumer never holds the exit past `exitAt`); outside a
    // stop, briefly. After a preStop call's stop the exit comes at the sidecar's SIGTERM, past
    // `exitAt`, with the kubelet's 2 s ahead: briefly too.
    const briefly = Date.now() + defaults.logFlushMs;
    lines.flushSync(
      runner?.stoppedBy === 'preStop' ? Math.max(runner.exitAt ?? 0, briefly) : (runner?.exitAt ?? briefly),
    );
    // Never held (exit-guard.ts): the one way out once `run` holds the plugins' exits.
    return exitProcess(code);
  };
  try {
    logger.level = options.logLevel ?? resolveCoreSetting('logLevel', {}, env).value;
    // Read beside the config: outside ECS it costs nothing, in ECS a few milliseconds.
    const identified = identifyTask(logger, env);
    const loading = loadConfig({ file: options.config, env, logLevel: options.logLevel });
    const loaded = await (guardLoad ? guardLoad(loading, logger) : loading);
    const identifiedConfig = { ...loaded, task: await identified };
    // In ECS only (its metadata variable set, even if the read failed): the lookup runs in a child
    // process, and outside ECS not even its module loads.
    const config =
      readStopTimeout && env[METADATA_ENV]
        ? await (await import('@task-helper/plugin-aws/ecs-stop-timeout')).withEcsStopTimeout(
            identifiedConfig,
            env,
            logger,
          )
        : identifiedConfig;
    logger.level = config.logLevel;
    logger.debug(
      { file: config.file ?? 'none (default plugins)', plugins: config.plugins.map((p) => p.name) },
      'config loaded',
    );
    runner = new Runner({ config, logger, env, droppedLogLines: () => lines.dropped });
    await body({ runner, logger, exit });
  } catch (error) {
    exit(report(error, logger));
  }
}

function report(error: unknown, logger: Logger): number {
  if (error instanceof ExitError) {
    logger.fatal({ exitCode: error.exitCode }, error.message);
    return error.exitCode;
  }
  logger.fatal({ err: error }, 'unexpected error: this is a bug in task-helper, please report it');
  return ExitCode.stepFailed;
}
