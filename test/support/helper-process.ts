import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { LogLine } from '@task-helper/core/testing';

export const CLI = path.resolve(import.meta.dirname, '../../packages/cli/src/cli.ts');
/** Makes Node resolve the workspace's packages to their TypeScript sources (their package.json "exports"), so no build is needed. */
export const SOURCE_CONDITION = '--conditions=@task-helper/source';

const running = new Set<ChildProcess>();

/** Kills helpers still running: a test that fails before its helper exits must not leave it behind (vitest-setup.ts). */
export function killRunningHelpers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export interface HelperProcess {
  readonly child: ChildProcess;
  /** Every stdout JSON line so far, with `at` (Date.now() when it arrived). */
  readonly lines: Array<LogLine & { at: number }>;
  /** Everything printed on stdout, as printed. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line (already seen or still to come) for which `match` is true. */
  waitForLog(match: string | ((line: LogLine) => boolean), timeoutMs?: number): Promise<LogLine & { at: number }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(signal: NodeJS.Signals): number;
}

/**
 * Spawns the real CLI on this Node 24 binary (not through node_modules/.bin, whose shell shims do
 * not forward signals) with only the environment given, so the tests' own env never leaks in.
 */
export function startHelper(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): HelperProcess {
  return spawnHelper([SOURCE_CONDITION, CLI, ...args], options);
}

/** Like startHelper, for any script (the bundled CLI, say): `node <script> <args>`, or `command` itself. */
export function spawnHelper(
  args: string[],
  { env = {}, cwd, command = process.execPath }: { env?: Record<string, string>; cwd?: string; command?: string } = {},
): HelperProcess {
  const child = spawn(command, args, {
    cwd: cwd ?? path.dirname(CLI),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const lines: Array<LogLine & { at: number }> = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    lines.push({ ...(asLogLine(text) ?? { level: 'raw', msg: text }), at: Date.now() });
    for (const wake of waiters) wake();
  });
  // 'close', not 'exit': by then every stdout line has been read.
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    at: Date.now(),
  }));

  return {
    child,
    lines,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => {
      child.kill(signal);
      return Date.now();
    },
    waitForLog(match, timeoutMs = 10_000) {
      const test = typeof match === 'string' ? (line: LogLine) => line.msg === match : match;
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = lines.find(test);
          if (found) finish(() => resolve(found));
          return found !== undefined;
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `no log line matching ${String(match)} within ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const onExit = (): void =>
          void setImmediate(
            () =>
              check() ||
              finish(() =>
                reject(
                  new Error(
                    `exited without a log line matching ${String(match)}; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`,
                  ),
                ),
              ),
          );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('close', onExit);
          settle();
        };
        if (check()) return;
        waiters.add(check);
        child.once('close', onExit);
      });
    },
  };
}

/** Runs the CLI to completion (for commands that exit by themselves). */
export async function runHelper(args: string[], options?: { env?: Record<string, string>; cwd?: string }) {
  const helper = startHelper(args, options);
  const { code } = await helper.exited;
  return { code, lines: helper.lines, stdout: helper.stdout(), stderr: helper.stderr() };
}

/** A pino line is a JSON object with a level; anything else (help text, `plan` output) is raw. */
function asLogLine(text: string): LogLine | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && 'level' in value ? (value as LogLine) : undefined;
  } catch {
    return undefined;
  }
}
