import { pino, type Logger } from 'pino';
import { maskUrlCredentials } from './errors.ts';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * JSON lines on stdout with the level as a word (`"level":"info"`), which reads better in
 * CloudWatch Logs Insights than pino's numbers. Writes are synchronous so the last line before
 * exit is never lost; a sidecar logs a few dozen lines in its life, so this costs nothing. Every
 * line has URLs' credentials masked as it is written, whoever logged them (a plugin, an error).
 */
export function createLogger(
  level: LogLevel = 'info',
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
  return pino(
    {
      level,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line) => maskUrlCredentials(line, { json: true }) },
    },
    destination,
  );
}
