import { catchStrayErrors } from '@task-helper/core/host';
import { guardLoad } from '../load-guard.ts';
import { catchSignals, handleSignals, type SignalCatcher } from '../signals.ts';
import { command, type CommandOptions } from './command.ts';

/**
 * `task-helper run`: run onStart, then wait for a stop signal and drain; exits from the signal
 * handler. `signals` were caught before this module loaded when the CLI could (cli.ts).
 */
export function run(options: CommandOptions, signals: SignalCatcher = catchSignals()): Promise<void> {
  const file = options.config ?? 'the config';
  return command(
    options,
    async ({ runner, logger, exit }) => {
      catchStrayErrors(logger, () => runner.noteStrayError());
      handleSignals(signals, runner, logger, exit);
      // Signal handlers do not keep Node alive; a timer that fires every 12 days does, at no CPU cost.
      setInterval(() => undefined, 2 ** 30);
      await runner.start();
    },
    { guardLoad: (load, logger) => guardLoad(load, { signals, env: process.env, logger, file }) },
  );
}
