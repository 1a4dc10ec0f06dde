/** spdlog's level names, the ones /logging accepts. */
const LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'];

const USAGE =
  'usage: /logging?<name>=<level> (change single level)\n' +
  'usage: /logging?level=<level> (change all levels)\n' +
  `levels: ${LEVELS.join(' ')} \n`;

export interface LoggingReply {
  status: number;
  body: string;
}

/** /logging: lists the loggers and their levels, after applying any change asked for. */
export function createLogging(): (params: URLSearchParams) => LoggingReply {
  const loggers = new Map(
    ['admin', 'config', 'connection', 'health_checker', 'http', 'main', 'router', 'runtime', 'upstream'].map(
      (name): [string, string] => [name, 'info'],
    ),
  );

  /** Returns an error, or applies every change; nothing is applied when one is invalid. */
  function change(params: URLSearchParams): string | undefined {
    for (const [name, level] of params) {
      if (!LEVELS.includes(level)) return 'unknown logger level';
      if (name !== 'level' && !loggers.has(name)) return 'unknown logger name';
    }
    for (const [name, level] of params) {
      for (const logger of name === 'level' ? [...loggers.keys()] : [name]) loggers.set(logger, level);
    }
    return undefined;
  }

  return (params) => {
    const error = change(params);
    const listing = ['active loggers:', ...[...loggers].map(([name, level]) => `  ${name}: ${level}`)].join('\n');
    if (error) return { status: 400, body: `error: ${error}\n\n${USAGE}${listing}\n` };
    return { status: 200, body: `${listing}\n` };
  };
}
