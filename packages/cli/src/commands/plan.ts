import { ExitCode, maskUrlCredentials } from '@task-helper/core/host';
import { planOf } from '../plan.ts';
import { planText } from '../plan-text.ts';
import { command, type CommandOptions } from './command.ts';

/** `task-helper plan`: what `run` would do with this config and environment, without running anything. */
export function plan(options: CommandOptions & { json?: boolean | undefined }): Promise<void> {
  return command(
    { ...options, logLevel: options.logLevel ?? 'warn' },
    async ({ runner, exit }) => {
      const result = planOf(runner, runner.config);
      const output = options.json ? `${JSON.stringify(result, null, 2)}\n` : planText(result);
      // planOf masks the settings' values whole; this catches a URL a plugin put in a tap's label.
      process.stdout.write(maskUrlCredentials(output, { json: options.json === true }));
      exit(ExitCode.ok);
    },
    { logTo: 2 },
  );
}
