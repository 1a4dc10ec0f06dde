import type { Logger } from 'pino';
import { forcedExitCode, type Runner } from '@task-helper/core/host';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * The first SIGTERM or SIGINT starts the stop sequence. ECS sends one SIGTERM and later SIGKILL,
 * so a second signal is only logged; a third, from someone pressing Ctrl+C at a terminal, exits at once.
 */
export function handleStopSignals(runner: Runner, logger: Logger, exit: (code: number) => void): void {
  let received = 0;
  for (const name of STOP_SIGNALS) {
    process.on(name, (signal: NodeJS.Signals) => {
      received += 1;
      if (received === 1) void runner.stop(signal).then(exit);
      else if (received === 2) logger.warn({ signal }, 'signal ignored: the stop sequence is already running (a third one forces exit)');
      else {
        logger.error({ signal, exitCode: forcedExitCode(signal) }, 'forced exit');
        exit(forcedExitCode(signal));
      }
    });
  }
}
