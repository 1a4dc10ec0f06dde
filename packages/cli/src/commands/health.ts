import { ExitCode, maskUrlCredentials } from '@task-helper/core/host';
import { command, type CommandOptions } from './command.ts';

/**
 * `task-helper health`, for the helper container's ECS healthCheck: runs the plugins' health
 * taps once (Envoy LIVE, the app answering) and answers in one line, exit 0 or 1.
 */
export function health(options: CommandOptions): Promise<void> {
  // Quiet unless asked: the one line below is the answer ECS keeps.
  return command(
    { ...options, logLevel: options.logLevel ?? 'fatal' },
    async ({ runner, exit }) => {
      const steps = await runner.health();
      const failed = steps.filter((step) => step.outcome !== 'ok');
      const checked = steps.map((step) => step.plugin).join(', ') || 'nothing to check';
      if (failed.length === 0) {
        process.stdout.write(`healthy: ${checked}\n`);
        exit(ExitCode.ok);
      }
      process.stdout.write(
        `${oneLine(`not healthy: ${failed.map((step) => `${step.plugin}: ${step.error ?? step.outcome}`).join('; ')}`)}\n`,
      );
      exit(ExitCode.stepFailed);
      // It runs every 30 s and the stop budget plays no part in it: no ECS API call for stopTimeout.
    },
    { logTo: 2, readStopTimeout: false },
  );
}

/** ECS keeps the output of a health check command: one line, short enough to read there. */
const MAX_LINE_CHARS = 200;
function oneLine(text: string): string {
  // A plugin's error may hold its URL: credentials masked, as in every log line.
  const line = maskUrlCredentials(text).replace(/\s+/g, ' ');
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS - 1)}…` : line;
}
