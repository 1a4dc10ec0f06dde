type StatKind = 'counter' | 'gauge';

export interface StatSample {
  name: string;
  value: number;
  /** Envoy's "used" flag: set once the stat has been written, even if it went back to 0. */
  used: boolean;
}

export interface Counter {
  inc(): void;
}

export interface Gauge {
  inc(): void;
  dec(): void;
}

interface Stat {
  kind: StatKind;
  value: number;
  used: boolean;
  read?: () => number;
}

/** Envoy's stats store, reduced to counters and gauges. Defining a stat twice returns the same one. */
export class StatStore {
  #stats = new Map<string, Stat>();

  counter(name: string): Counter {
    const stat = this.#define(name, 'counter');
    return {
      inc: () => {
        stat.value += 1;
        stat.used = true;
      },
    };
  }

  gauge(name: string): Gauge {
    const stat = this.#define(name, 'gauge');
    const add = (delta: number) => {
      stat.value += delta;
      stat.used = true;
    };
    return { inc: () => add(1), dec: () => add(-1) };
  }

  /** A gauge read at render time, for values (state, uptime) that live elsewhere. */
  computedGauge(name: string, read: () => number): void {
    this.#stats.set(name, { kind: 'gauge', value: 0, used: true, read });
  }

  /** /reset_counters: counters go back to 0, gauges are left alone. */
  resetCounters(): void {
    for (const stat of this.#stats.values()) if (stat.kind === 'counter') stat.value = 0;
  }

  /** All stats sorted by name, the order Envoy's /stats uses. */
  snapshot(): StatSample[] {
    return [...this.#stats]
      .map(([name, s]) => ({ name, value: s.read ? s.read() : s.value, used: s.used }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #define(name: string, kind: StatKind): Stat {
    let stat = this.#stats.get(name);
    if (!stat) {
      stat = { kind, value: 0, used: false };
      this.#stats.set(name, stat);
    }
    return stat;
  }
}
