import { handleStopSignals } from '../signals.ts';
import { command, type CommandOptions } from './command.ts';

/** `task-helper run`: run onStart, then wait for a stop signal and drain; exits from the signal handler. */
export function run(options: CommandOptions): Promise<void> {
  return command(options, async ({ runner, logger, exit }) => {
    handleStopSignals(runner, logger, exit);
    // Signal handlers do not keep Node alive; a timer that fires every 12 days does, at no CPU cost.
    setInterval(() => undefined, 2 ** 30);
    await runner.start();
  });
}
