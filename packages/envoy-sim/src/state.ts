import type { ServerStateName } from './types.ts';

const STATE_CODES: Record<ServerStateName, number> = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 };

/**
 * Server-wide state: init progress, the /healthcheck/fail flag and the graceful drain sequence.
 * Like Envoy, the reported state is derived rather than stored: INITIALIZING until init is done,
 * then DRAINING while the health check is failed, else LIVE.
 */
export class ServerState {
  #startedAt = Date.now();
  #initialized = false;
  #healthCheckFailed = false;
  #drainSequenceStarted = false;
  #timers = new Set<NodeJS.Timeout>();

  constructor(initializingMs: number) {
    if (initializingMs > 0) this.#after(initializingMs, () => (this.#initialized = true));
    else this.#initialized = true;
  }

  name(): ServerStateName {
    if (!this.#initialized) return 'INITIALIZING';
    return this.#healthCheckFailed ? 'DRAINING' : 'LIVE';
  }

  /** The `server.state` gauge value. */
  code(): number {
    return STATE_CODES[this.name()];
  }

  healthCheckFailed(): boolean {
    return this.#healthCheckFailed;
  }

  setHealthCheckFailed(failed: boolean): void {
    this.#healthCheckFailed = failed;
  }

  /**
   * Whether connection managers should drain-close (Connection: close on HTTP/1.1 responses).
   * A failed health check does it at once; so does a graceful drain sequence, as with
   * `--drain-strategy immediate`.
   */
  drainClose(): boolean {
    return this.#healthCheckFailed || this.#drainSequenceStarted;
  }

  /** Runs `done` after the drain period. Once a sequence has started, later calls are ignored, as in Envoy. */
  startDrainSequence(drainMs: number, done: () => void): void {
    if (this.#drainSequenceStarted) return;
    this.#drainSequenceStarted = true;
    this.#after(drainMs, done);
  }

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.#startedAt) / 1000);
  }

  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }
}
