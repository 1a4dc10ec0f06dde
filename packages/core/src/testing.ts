import { defaults } from './defaults.ts';
import { createLogger, type LogLevel } from './logger.ts';
import { Runner } from './runner.ts';
import type { PreStopAddress } from './core-settings.ts';
import type { TaskMetadata } from './task-metadata.ts';
import type { Plugin, ResolvedConfig } from './types.ts';

/** One JSON log line as pino wrote it. */
export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger whose lines land in `lines`, parsed. */
export function recordingLogger(level: LogLevel = 'debug') {
  const lines: LogLine[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

export interface TestRunnerOptions {
  plugins: Plugin[];
  /** The environment the plugins read (nothing from process.env leaks in). */
  env?: NodeJS.ProcessEnv;
  stopTimeout?: number;
  startTimeout?: number;
  logLevel?: LogLevel;
  /** The ECS task, as the metadata endpoint would describe it; default: not in ECS. */
  task?: TaskMetadata;
  /** Kubernetes: the preStop endpoint's address (PRESTOP_HOST, PRESTOP_PORT), so the stop plans with the kubelet's budget; default: none. */
  preStop?: PreStopAddress;
}

/**
 * Runs plugins' hooks in-process, exactly as `task-helper run` would, with a recording logger.
 * Drive time with your test framework's fake timers (vitest: `vi.useFakeTimers()` and
 * `vi.advanceTimersByTimeAsync`), so a 40-second wait costs nothing.
 */
export function createTestRunner({
  plugins,
  env = {},
  stopTimeout = defaults.stopTimeout,
  startTimeout = defaults.startTimeout,
  logLevel = 'debug',
  task,
  preStop,
}: TestRunnerOptions) {
  const { logger, lines } = recordingLogger(logLevel);
  const config: ResolvedConfig = {
    file: undefined,
    stopTimeout,
    startTimeout,
    logLevel,
    plugins,
    settings: [],
    task,
    preStop,
  };
  const runner = new Runner({ config, logger, env });
  return {
    runner,
    lines,
    /** The lines with this `msg`. */
    logged: (msg: string) => lines.filter((line) => line.msg === msg),
  };
}
