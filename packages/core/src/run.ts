import type { Logger } from 'pino';
import { loadConfig, logLevelSetting } from './config.ts';
import { ExitError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { createLogger, type LogLevel } from './logger.ts';
import { Runner } from './runner.ts';
import { readSetting } from './settings.ts';
import { handleStopSignals } from './signals.ts';

export interface RunOptions {
  config?: string | undefined;
  logLevel?: LogLevel | undefined;
}

/** `task-helper run`: load the config, run onStart, then wait for a stop signal; never returns. */
export async function run(options: RunOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const logger = createLogger();
  const exit = (code: number): never => {
    logger.flush();
    process.exit(code);
  };
  try {
    logger.level = options.logLevel ?? readSetting(logLevelSetting, {}, env);
    const config = await loadConfig({ file: options.config, env, logLevel: options.logLevel });
    logger.level = config.logLevel;
    logger.debug({ file: config.file ?? 'none (default plugins)', plugins: config.plugins.map((p) => p.name) }, 'config loaded');
    const runner = new Runner({ config, logger, env });
    handleStopSignals(runner, logger, exit);
    // Signal handlers do not keep Node alive; a timer that fires every 12 days does, at no CPU cost.
    setInterval(() => undefined, 2 ** 30);
    await runner.start();
  } catch (error) {
    exit(report(error, logger));
  }
}

/** One line for what the operator can fix; a stack trace only for what is our bug. */
function report(error: unknown, logger: Logger): number {
  if (error instanceof ExitError) {
    logger.fatal({ exitCode: error.exitCode }, error.message);
    return error.exitCode;
  }
  logger.fatal({ err: error }, 'unexpected error: this is a bug in task-helper, please report it');
  return ExitCode.stepFailed;
}
