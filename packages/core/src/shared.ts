/** A named fact and the type of its value: `defineFact<{ quietMs: number }>('trafficStopped')`. */
export interface Fact<T> {
  readonly key: string;
  /** Carries `T` for the type checker only; never set. */
  readonly value?: T;
}

export function defineFact<T = true>(key: string): Fact<T> {
  return Object.freeze({ key });
}

/** Set by a traffic watcher when no request is in flight or arriving; it ends the DRAIN_TIMEOUT wait early. */
export const TRAFFIC_STOPPED = defineFact<{ quietMs: number; sinceFailMs: number }>('trafficStopped');

/**
 * Set by a plugin that watches the task's service (plugin-aws's cloud-map, with
 * DRAIN_DELAY_UNTIL=replacements) once enough other instances are in service and callers have had
 * time to learn about them: the service can lose this task. It ends the DRAIN_DELAY wait early;
 * nothing else may set it, so the drain never starts before that holds (or DRAIN_DELAY is over).
 */
export const REPLACEMENTS_IN_SERVICE = defineFact<{ replacements: number; required: number; sinceSignalMs: number }>(
  'replacementsInService',
);

/**
 * Set by plugin-envoy at the stop signal: asks Envoy's admin API (`/clusters`) whether it ever
 * opened a connection to an upstream host (`127.0.0.1:8080`) that the host accepted, in any
 * cluster. Rejects when Envoy cannot tell (down, slow, the answer unreadable).
 */
export const ENVOY_UPSTREAM_SERVED =
  defineFact<(host: string, signal: AbortSignal) => Promise<boolean>>('envoyUpstreamServed');

/**
 * Facts plugins pass to each other during one run, such as "traffic has stopped". A plugin can
 * wait for a fact another one sets later, so neither needs to know the other.
 */
export class SharedFacts {
  readonly #values = new Map<string, unknown>();
  readonly #waiters = new Map<string, Array<(value: unknown) => void>>();

  set<T>(fact: Fact<T>, value: NoInfer<T>): void {
    this.#values.set(fact.key, value);
    for (const resolve of this.#waiters.get(fact.key) ?? []) resolve(value);
    this.#waiters.delete(fact.key);
  }

  get<T>(fact: Fact<T>): T | undefined {
    return this.#values.get(fact.key) as T | undefined;
  }

  has(fact: Fact<unknown>): boolean {
    return this.#values.has(fact.key);
  }

  /** Resolves with the fact's value once it is set (at once if it already is). */
  whenSet<T>(fact: Fact<T>): Promise<T> {
    if (this.#values.has(fact.key)) return Promise.resolve(this.#values.get(fact.key) as T);
    return new Promise((resolve) => {
      this.#waiters.set(fact.key, [...(this.#waiters.get(fact.key) ?? []), resolve as (value: unknown) => void]);
    });
  }
}
