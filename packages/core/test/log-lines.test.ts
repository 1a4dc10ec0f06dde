import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogLines } from '../src/log-lines.ts';

// A real FIFO, both ends non-blocking and in this process: the reader reads when the test says.
const opened: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function pipe(): { readFd: number; lines: LogLines; read(): string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'log-lines-'));
  dirs.push(dir);
  const file = path.join(dir, 'fifo');
  execFileSync('mkfifo', [file]);
  const readFd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
  opened.push(readFd, writeFd);
  const read = (): string => {
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(65_536);
    for (;;) {
      try {
        const n = readSync(readFd, buffer);
        if (n === 0) break;
        chunks.push(Buffer.from(buffer.subarray(0, n)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw error;
      }
    }
    return Buffer.concat(chunks).toString();
  };
  return { readFd, lines: new LogLines(writeFd), read };
}

/** Reads while the lines go out, until none is held (so no retry is left for a later test's descriptor). */
function readAll(lines: LogLines, read: () => string): string {
  let text = read();
  while (!lines.flushSync(Date.now())) text += read();
  return text + read();
}

const line = (n: number): string => `${JSON.stringify({ n, filler: 'x'.repeat(1_000) })}\n`;
const numbers = (text: string): unknown[] =>
  text
    .trimEnd()
    .split('\n')
    .map(
      (l) => (JSON.parse(l) as { n?: number; said?: number }).n ?? `said ${(JSON.parse(l) as { said: number }).said}`,
    );

describe('LogLines', () => {
  it('a reading consumer gets each line at once, whole', () => {
    const { lines, read } = pipe();
    lines.write(line(0));
    lines.write(line(1));
    expect(numbers(read())).toEqual([0, 1]);
    expect(lines.dropped).toBe(0);
  });

  it('a full pipe: holds up to 256 KiB, then drops the oldest held, and says so in their place once read', () => {
    const { lines, read } = pipe();
    lines.onResumed = (dropped) => lines.write(`${JSON.stringify({ said: dropped })}\n`);
    for (let n = 0; n < 400; n += 1) lines.write(line(n));
    expect(lines.dropped).toBeGreaterThan(0);
    const got = numbers(readAll(lines, read));
    const said = got.indexOf(`said ${lines.dropped}`);
    // What the pipe took first, in order; the line about the gap; the newest lines, held until read.
    expect(got).toEqual([
      ...Array.from({ length: said }, (_, n) => n),
      `said ${lines.dropped}`,
      ...Array.from({ length: 400 - said - lines.dropped }, (_, n) => said + lines.dropped + n),
    ]);
    expect(said).toBeGreaterThan(0);
  });

  it('flushSync waits for a consumer that never reads until its deadline, and no later', () => {
    const { lines, read } = pipe();
    for (let n = 0; n < 100; n += 1) lines.write(line(n));
    const until = Date.now() + 120;
    expect(lines.flushSync(until)).toBe(false);
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(numbers(readAll(lines, read))).toEqual(Array.from({ length: 100 }, (_, n) => n));
  });

  it('a closed pipe (EPIPE): no error, every line from then on counted as dropped', () => {
    const { readFd, lines } = pipe();
    closeSync(readFd);
    opened.splice(opened.indexOf(readFd), 1);
    expect(() => {
      lines.write(line(0));
      lines.write(line(1));
    }).not.toThrow();
    expect(lines.dropped).toBe(2);
    expect(lines.flushSync(Date.now() + 1_000)).toBe(true);
  });
});
