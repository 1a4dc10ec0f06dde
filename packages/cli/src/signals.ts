import type { Logger } from 'pino';
import { forcedExitCode, type Runner } from '@task-helper/core/host';
import { IGNORED_SIGNALS, type SignalCatcher } from './signal-catcher.ts';

/**
 * The first SIGTERM, SIGINT or SIGQUIT (caught so far or still to come) starts the stop sequence.
 * ECS sends one SIGTERM and later SIGKILL, so a second signal is only logged; a third, from
 * someone pressing Ctrl+C at a terminal, exits at once.
 */
export function handleSignals(
  signals: SignalCatcher,
  runner: Runner,
  logger: Logger,
  exit: (code: number) => void,
): void {
  let received = 0;
  signals.deliverTo((signal) => {
    if ((IGNORED_SIGNALS as readonly string[]).includes(signal)) {
      logger.warn({ signal }, 'signal ignored: only SIGTERM, SIGINT or SIGQUIT stop the helper (after the drain)');
      return;
    }
    received += 1;
    if (received === 1) void runner.stop(signal).then(exit);
    else if (received === 2)
      logger.warn({ signal }, 'signal ignored: the stop sequence is already running (a third one forces exit)');
    else {
      logger.error({ signal, exitCode: forcedExitCode(signal) }, 'forced exit');
      exit(forcedExitCode(signal));
    }
  });
}
