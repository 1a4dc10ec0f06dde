import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLI, SOURCE_CONDITION } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';
import { tempDir } from '../support/temp-config.ts';

// stdout is a real pipe (a FIFO, as containerd gives a container; Node's own spawn would make it a
// socket pair) whose reader stops reading, or has gone: the helper still POSTs /healthcheck/fail,
// drains and exits within its budget.
const MISBEHAVE_CONFIG = path.resolve(import.meta.dirname, 'fixtures/misbehave.config.ts');
const STOP_TIMEOUT_S = 10;

let task: SimTask | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await task?.close();
  task = undefined;
});

/** A FIFO's read end (non-blocking, so opening it waits for no writer) and its write end, for the helper's stdout. */
function fifo(): { readFd: number; writeFd: number } {
  const file = path.join(tempDir({}), 'stdout');
  execFileSync('mkfifo', [file]);
  const readFd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  return { readFd, writeFd: openSync(file, constants.O_WRONLY) };
}

/** `task-helper run` with the plugin that floods its log at setup, stdout on `stdoutFd`. */
function startFlooding(stdoutFd: number, env: Record<string, string>): ChildProcess {
  const started = spawn(process.execPath, [SOURCE_CONDITION, CLI, 'run', '--config', MISBEHAVE_CONFIG], {
    cwd: path.dirname(CLI),
    env: { PATH: process.env.PATH ?? '', ...task!.env, STOP_TIMEOUT: String(STOP_TIMEOUT_S), ...env },
    stdio: ['ignore', stdoutFd, 'pipe'],
  });
  closeSync(stdoutFd);
  return started;
}

function collect(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => void (text += chunk.toString()));
  return () => text;
}

/** The flood is logged at setup, before the start check reaches Envoy: once Envoy has a call, stdout is full. */
async function floodLogged(): Promise<void> {
  await vi.waitFor(() => expect(task!.envoy.calls.length).toBeGreaterThan(0), { timeout: 15_000, interval: 50 });
}

describe('a log consumer that is not reading never holds the stop', () => {
  it('stdout full: the POST goes out unread; once read again, the drops are counted; exit 0 in time', async () => {
    task = await startTask();
    const { readFd, writeFd } = fifo();
    child = startFlooding(writeFd, { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '1', MISBEHAVE: 'setup:flood' });
    const exited = once(child, 'exit');
    const stderr = collect(child.stderr!);
    await floodLogged();
    const sigtermAt = Date.now();
    child.kill('SIGTERM');
    // Nothing has read stdout since the flood.
    await vi.waitFor(() => expect(task!.healthcheckFailAt()).toBeDefined(), { timeout: 8_000, interval: 50 });
    const reader = new Socket({ fd: readFd, readable: true, writable: false });
    const stdout = collect(reader);
    const ended = once(reader, 'end');
    const [code] = (await exited) as [number | null];
    const exitedAfterMs = Date.now() - sigtermAt;
    await ended;
    const lines = stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // The oldest held lines (the flood's) made room for the stop's.
    const flood = lines.filter((l) => l.msg === 'flooding').map((l) => l.line as number);
    // Each gap has its line saying how many were dropped there (a nearly full pipe may take a short line and not a long one).
    const said = lines.filter((l) => l.msg === 'log lines dropped: the log consumer was not reading');
    expect(said[0]).toMatchObject({ level: 'warn', droppedLogLines: expect.any(Number) });
    const saidDropped = said.reduce((sum, l) => sum + (l.droppedLogLines as number), 0);
    expect(saidDropped).toBe(400 - flood.length);
    expect(flood.length).toBeLessThan(400);
    expect(flood).toEqual([...flood].sort((a, b) => a - b));
    // Counted in `drain finished` too (if it was held, the lines it pushed out are told after it).
    const finished = lines.at(-1)!;
    expect(finished).toMatchObject({ msg: 'drain finished', exitCode: 0 });
    expect(finished.droppedLogLines).toBeGreaterThan(0);
    expect(finished.droppedLogLines).toBeLessThanOrEqual(saidDropped);
    expect(lines.some((l) => l.msg === 'stop signal received')).toBe(true);
    expect(code).toBe(0);
    expect(exitedAfterMs).toBeLessThan(STOP_TIMEOUT_S * 1000);
    expect(stderr()).toBe('');
  });

  it('stdout never read again: the exit waits for it until exitAt, not past it; what went out is whole lines', async () => {
    task = await startTask();
    const { readFd, writeFd } = fifo();
    // exitAt: 5 s - 250 ms.
    child = startFlooding(writeFd, {
      STOP_TIMEOUT: '5',
      DRAIN_DELAY: '0',
      DRAIN_TIMEOUT: '1',
      MISBEHAVE: 'setup:flood',
    });
    const exited = once(child, 'exit');
    const stderr = collect(child.stderr!);
    await floodLogged();
    const sigtermAt = Date.now();
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    const exitedAfterMs = Date.now() - sigtermAt;
    expect(task.healthcheckFailAt()).toBeGreaterThanOrEqual(sigtermAt);
    expect(code).toBe(0);
    // It waits for stdout until exitAt (4.75 s) and leaves then: the bound above it is the busy
    // host delivering the exit to this process (5.03 s seen once under load), not the helper waiting.
    expect(exitedAfterMs).toBeGreaterThanOrEqual(4_500);
    expect(exitedAfterMs).toBeLessThan(5_750);
    const reader = new Socket({ fd: readFd, readable: true, writable: false });
    const stdout = collect(reader);
    await once(reader, 'end');
    // Whole lines only (each parses), the flood's first ones in order.
    const lines = stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; line?: number });
    const flood = lines.filter((l) => l.msg === 'flooding').map((l) => l.line);
    expect(flood.length).toBeGreaterThan(0);
    expect(flood).toEqual(flood.map((_, index) => index));
    expect(stderr()).toBe('');
  });

  it("stdout closed (EPIPE): the helper drains and exits 0, a plugin's console.log no stray error", async () => {
    task = await startTask();
    const { readFd, writeFd } = fifo();
    closeSync(readFd);
    child = startFlooding(writeFd, {
      DRAIN_DELAY: '0',
      DRAIN_TIMEOUT: '1',
      MISBEHAVE: 'setup:flood,beforeDrain:console-log',
    });
    const exited = once(child, 'exit');
    const stderr = collect(child.stderr!);
    await floodLogged();
    const sigtermAt = Date.now();
    child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(task.healthcheckFailAt()).toBeGreaterThanOrEqual(sigtermAt);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(Date.now() - sigtermAt).toBeLessThan(STOP_TIMEOUT_S * 1000);
    expect(stderr()).toBe('');
  });
});
