import type { BigIntStats } from 'node:fs';

// process.getBuiltinModule, not an ESM import: the ESM view of fs loads its lazy parts (0.7 MB of idle RSS, bench/footprint.ts).
const { constants, fstatSync, openSync, writeSync } = process.getBuiltinModule('node:fs');

/** Lines held while the log consumer is not reading; beyond this, the oldest held are dropped and counted. */
const maxQueuedBytes = 256 * 1024;
/** How often held lines are tried again while the consumer is not reading. */
const retryMs = 50;

/**
 * Log lines to a file descriptor (stdout) that never block the helper. A stalled consumer (the
 * `awslogs` driver while CloudWatch is slow, a pipe nobody reads) would otherwise hold the process
 * in `write()`, and no POST goes out before SIGKILL. Each line is one `write()` on the descriptor
 * made non-blocking (`nonBlocking`): on a healthy pipe it goes out at once, whole (a line up to
 * PIPE_BUF, 4 KiB, is atomic, so another writer's line, the watchdog's, never lands inside it);
 * when the pipe is full
 * the line is held, up to 256 KiB, and tried again every 50 ms; past that, the oldest held lines
 * are dropped and counted, and once the consumer reads again one line says how many, in their
 * place (`onResumed`). A closed stdout (EPIPE) drops every later line, silently: there is nowhere
 * to say it.
 *
 * Node's own `process.stdout` on a pipe queues without bound, and pino's sonic-boom (`sync: false`)
 * writes through libuv's thread pool, where a write blocked on a stalled pipe also blocks
 * `process.exit` (measured: docs/operations.md#reading-the-logs).
 */
export class LogLines {
  readonly #fd: number;
  /** Lines not yet written, oldest first; the head may be a line's rest after a partial write. */
  readonly #queue: Buffer[] = [];
  #queuedBytes = 0;
  #headPartial = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #droppedSinceSaid = 0;
  #capturing = false;
  #captured: string | undefined;
  /** Lines dropped so far, because the consumer was not reading (or stdout was closed). */
  dropped = 0;
  /** Logs the line that says how many lines were dropped; it is written where they were. */
  onResumed: ((dropped: number) => void) | undefined;

  constructor(fd: number) {
    this.#fd = nonBlocking(fd);
  }

  write(line: string): void {
    if (this.#capturing) {
      this.#captured = line;
      return;
    }
    if (this.#closed) {
      this.dropped += 1;
      return;
    }
    const bytes = Buffer.from(line);
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    // Over the bound, the oldest held lines go: when the consumer reads again, the stop's last
    // lines (`drain finished`) matter more than what came before them.
    const keep = this.#headPartial ? 1 : 0;
    while (this.#queuedBytes > maxQueuedBytes && this.#queue.length > keep + 1) {
      const [gone] = this.#queue.splice(keep, 1);
      this.#queuedBytes -= gone!.length;
      this.dropped += 1;
      this.#droppedSinceSaid += 1;
    }
    // A retry is planned whenever lines are held; otherwise this line goes out now.
    if (this.#timer === undefined) this.#retry();
  }

  /**
   * Writes what is held, waiting for the consumer until `until` (epoch ms) at the latest: the exit
   * calls it, so the last lines reach a healthy or slow consumer and a stalled one never holds the
   * exit past the stop budget. Returns whether everything held went out.
   */
  flushSync(until: number): boolean {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      this.#retry();
      const done = this.#queue.length === 0 && this.#droppedSinceSaid === 0;
      if (done || this.#closed) return done;
      const left = until - Date.now();
      if (left <= 0) return false;
      Atomics.wait(pause, 0, 0, Math.min(retryMs, left));
    }
  }

  /** Writes out what is held, oldest first, with the line about dropped ones in their place. */
  #retry(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (!this.#closed) {
      if (this.#droppedSinceSaid > 0 && !this.#headPartial) {
        if (!this.#sayDropped()) break;
      } else if (this.#queue.length === 0) return;
      else if (!this.#writeHead()) break;
    }
    // Unref'd: held lines never keep the process alive; the exit flushes them within its bound.
    if (!this.#closed) this.#timer = setTimeout(() => this.#retry(), retryMs).unref();
  }

  #writeHead(): boolean {
    const head = this.#queue[0]!;
    const written = this.#writeSome(head);
    if (written === head.length) {
      this.#queue.shift();
      this.#queuedBytes -= written;
      this.#headPartial = false;
      return true;
    }
    if (written > 0) {
      this.#queue[0] = head.subarray(written);
      this.#queuedBytes -= written;
      this.#headPartial = true;
    }
    return false;
  }

  /** The line saying how many were dropped, written first when the consumer reads again: true once it went out. */
  #sayDropped(): boolean {
    this.#capturing = true;
    this.#captured = undefined;
    try {
      this.onResumed?.(this.#droppedSinceSaid);
    } finally {
      this.#capturing = false;
    }
    if (this.#captured !== undefined) {
      const bytes = Buffer.from(this.#captured);
      const written = this.#writeSome(bytes);
      if (written === 0) return false;
      if (written < bytes.length) {
        this.#queue.unshift(bytes.subarray(written));
        this.#queuedBytes += bytes.length - written;
        this.#headPartial = true;
      }
    }
    this.#droppedSinceSaid = 0;
    return true;
  }

  /** One `write()`: the bytes written, 0 when the pipe is full or stdout is closed (then for good). */
  #writeSome(bytes: Buffer): number {
    try {
      return writeSync(this.#fd, bytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') this.#close();
      return 0;
    }
  }

  #close(): void {
    this.#closed = true;
    this.dropped += this.#queue.length;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }
}

/**
 * A descriptor for the same output that never blocks. A pipe (what containerd gives a container's
 * stdout) is opened again through /proc with O_NONBLOCK: a file description of its own, so `fd`
 * itself, which other writers share (the stop's watchdog), keeps its mode, and no stream module
 * loads. A socket (Node's own spawn with
 * `'pipe'`) or a pipe without /proc cannot be reopened: Node's stdio stream, once made, sets the
 * descriptor non-blocking. A file or a terminal stays as it is; neither stalls for long.
 */
function nonBlocking(fd: number): number {
  let stat: BigIntStats;
  try {
    // bigint: after Node 24.9's plain fstatSync of a pipe, the next CommonJS module imported
    // (cosmiconfig) came out empty (measured); this form does not share its stat buffer.
    stat = fstatSync(fd, { bigint: true });
  } catch {
    return fd;
  }
  if (stat.isFIFO()) {
    try {
      return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      // ENXIO: the reader has gone; the writes fail with EPIPE and the lines are dropped. So do
      // a plugin's console.log lines: Node's stdio stream would throw its EPIPE as an uncaught
      // error (a stray error, exit 1) once another thread has made it (the watchdog's Worker does).
      if ((error as NodeJS.ErrnoException).code === 'ENXIO') {
        if (fd === 1 || fd === 2) (fd === 1 ? process.stdout : process.stderr).on('error', () => undefined);
        return fd;
      }
    }
  }
  if ((stat.isFIFO() || stat.isSocket()) && (fd === 1 || fd === 2)) void (fd === 1 ? process.stdout : process.stderr);
  return fd;
}
