import { createLogger, type LogLevel } from '@task-helper/core';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger whose JSON lines land in `lines`, for in-process tests. */
export function recordingLogger(level: LogLevel = 'debug') {
  const lines: LogLine[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}
