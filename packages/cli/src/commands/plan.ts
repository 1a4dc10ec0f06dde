import { ExitCode } from '@task-helper/core/host';
import { planOf } from '../plan.ts';
import { planText } from '../plan-text.ts';
import { command, type CommandOptions } from './command.ts';

/** `task-helper plan`: what `run` would do with this config and environment, without running anything. */
export function plan(options: CommandOptions & { json?: boolean | undefined }): Promise<void> {
  return command(
    { ...options, logLevel: options.logLevel ?? 'warn' },
    async ({ runner, exit }) => {
      const result = planOf(runner, runner.config);
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : planText(result));
      exit(ExitCode.ok);
    },
    { logTo: 2 },
  );
}
