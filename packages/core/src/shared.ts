/** The fact a traffic watcher sets when no request is in flight or arriving; it ends the DRAIN_TIMEOUT wait early. */
export const TRAFFIC_STOPPED = 'trafficStopped';

/**
 * Facts plugins pass to each other during one run, such as "traffic has stopped". A plugin can
 * wait for a fact another one sets later, so neither needs to know the other.
 */
export class SharedFacts {
  readonly #values = new Map<string, unknown>();
  readonly #waiters = new Map<string, Array<(value: unknown) => void>>();

  set(key: string, value: unknown = true): void {
    this.#values.set(key, value);
    for (const resolve of this.#waiters.get(key) ?? []) resolve(value);
    this.#waiters.delete(key);
  }

  get(key: string): unknown {
    return this.#values.get(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** Resolves with the fact's value once it is set (at once if it already is). */
  whenSet(key: string): Promise<unknown> {
    if (this.#values.has(key)) return Promise.resolve(this.#values.get(key));
    return new Promise((resolve) => {
      this.#waiters.set(key, [...(this.#waiters.get(key) ?? []), resolve]);
    });
  }
}
