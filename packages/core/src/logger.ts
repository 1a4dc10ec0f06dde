import { pino, type Logger } from 'pino';
import { maskUrlCredentials } from './errors.ts';
import { LogLines } from './log-lines.ts';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * JSON lines on stdout with the level as a word (`"level":"info"`), which reads better in
 * CloudWatch Logs Insights than pino's numbers. Lines go out at once and never block: a stalled
 * consumer gets them later, or dropped and counted (log-lines.ts). Every line has URLs'
 * credentials masked as it is written, whoever logged them (a plugin, an error).
 */
export function createLogger(level: LogLevel = 'info', destination: pino.DestinationStream = new LogLines(1)): Logger {
  const logger = pino(
    {
      level,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line) => maskUrlCredentials(line, { json: true }) },
    },
    destination,
  );
  if (destination instanceof LogLines)
    destination.onResumed = (dropped) =>
      logger.warn({ droppedLogLines: dropped }, 'log lines dropped: the log consumer was not reading');
  return logger;
}
