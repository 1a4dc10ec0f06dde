import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TRAFFIC_STOPPED, type HookContext, type Plugin } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import envoy from '@task-helper/plugin-envoy';
import { sampleTraffic, trafficStatsFilter, watchTraffic, type Stat } from '../src/traffic.ts';

/** A connection manager's stats as Envoy lists them: `total` and the 1.33+ health check filter's count include health checks, `completed` never does. */
const stats = (
  prefix: string,
  active: number,
  completed: number,
  { total = completed, healthChecks = 0 } = {},
): Stat[] => [
  { name: `http.${prefix}.downstream_rq_active`, value: active },
  { name: `http.${prefix}.downstream_rq_completed`, value: completed },
  { name: `http.${prefix}.downstream_rq_total`, value: total + healthChecks },
  { name: `http.${prefix}.tracing.health_check`, value: healthChecks },
];

describe('sampleTraffic', () => {
  it('sums every connection manager but admin, counting answered requests (health checks never are)', () => {
    expect(
      sampleTraffic(
        [...stats('ingress', 2, 70, { healthChecks: 30 }), ...stats('egress', 1, 5), ...stats('admin', 9, 999)],
        [],
      ),
    ).toEqual({ active: 3, requests: 75 });
  });

  it('reads dotted stat prefixes, and leaves out the listener copies of the same stats', () => {
    const dotted = [
      ...stats('inbound_0.0.0.0_15000', 1, 40),
      { name: 'listener.0.0.0.0_15000.http.inbound_0.0.0.0_15000.downstream_rq_completed', value: 40 },
    ];
    expect(sampleTraffic(dotted, [])).toEqual({ active: 1, requests: 40 });
    expect(sampleTraffic([...dotted, ...stats('egress', 0, 3)], ['inbound_0.0.0.0_15000'])).toEqual({
      active: 1,
      requests: 40,
    });
  });

  it('watches only the named prefixes when given', () => {
    expect(sampleTraffic([...stats('ingress', 0, 10), ...stats('egress', 4, 50)], ['ingress'])).toEqual({
      active: 0,
      requests: 10,
    });
  });

  it('asks Envoy for exactly those stats: a filter that matches dotted prefixes literally', () => {
    const names = [
      ...stats('inbound_0.0.0.0_15000', 0, 0),
      ...stats('inbound_0x0x0x0_15000', 0, 0),
      ...stats('admin', 0, 0),
    ].map((s) => s.name);
    names.push('listener.0.0.0.0_15000.http.inbound_0.0.0.0_15000.downstream_rq_completed');
    const matched = (prefixes: string[]) => names.filter((n) => new RegExp(trafficStatsFilter(prefixes)).test(n));
    expect(matched(['inbound_0.0.0.0_15000'])).toEqual([
      'http.inbound_0.0.0.0_15000.downstream_rq_active',
      'http.inbound_0.0.0.0_15000.downstream_rq_completed',
    ]);
    expect(matched([])).toHaveLength(6);
  });

  it('is undefined when a watched prefix is missing or there is nothing but admin', () => {
    expect(sampleTraffic(stats('egress', 0, 1), ['ingress'])).toBeUndefined();
    expect(sampleTraffic(stats('admin', 0, 1), [])).toBeUndefined();
  });
});

describe('ENVOY_STAT_PREFIXES', () => {
  const start = async (value: string) =>
    createTestRunner({
      plugins: [envoy({ waitReady: false })],
      env: { ENVOY_STAT_PREFIXES: value, DRAIN_MIN: '1' },
    }).runner.start();

  it('takes dotted prefixes such as inbound_0.0.0.0_15000', async () => {
    await expect(start('inbound_0.0.0.0_15000, ingress')).resolves.toBeUndefined();
  });

  it.each(['a..b', '.ingress', 'in bound', ''])('refuses %j, naming the setting and what it expects', async (value) => {
    await expect(start(value)).rejects.toThrow(
      `ENVOY_STAT_PREFIXES=${JSON.stringify(value)} is invalid: expected a list of stat prefixes such as ingress or inbound_0.0.0.0_15000`,
    );
  });
});

describe('watchTraffic', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  /** Runs watchTraffic inside a real drain hook, with the delay plugin's seam: a wait that ends on TRAFFIC_STOPPED. */
  async function drainWith(read: () => Promise<Stat[]>, drainTimeoutMs: number) {
    let ended: string | undefined;
    const plugin: Plugin = {
      name: 'envoy',
      apply: (hooks) => {
        hooks.drain.tapPromise(
          { name: 'envoy' },
          async (ctx: HookContext) =>
            void watchTraffic(ctx, read, { drainMinMs: 2_000, quietMs: 1_000, statPrefixes: [] }),
        );
        hooks.drain.tapPromise(
          { name: 'delay', stage: 100, timeout: Infinity },
          async (ctx) => void (ended = await ctx.sleep(drainTimeoutMs, { until: ctx.shared.whenSet(TRAFFIC_STOPPED) })),
        );
      },
    };
    const { runner, lines } = createTestRunner({ plugins: [plugin] });
    await runner.start();
    const started = Date.now();
    const stopped = runner.stop('SIGTERM');
    return {
      lines,
      done: async () => {
        await stopped;
        return { ms: Date.now() - started, ended };
      },
    };
  }

  it('ends the drain once nothing has been in flight or arrived for the quiet period', async () => {
    let requests = 100;
    let active = 3;
    const read = vi.fn(async () => stats('ingress', active, requests));
    const { lines, done } = await drainWith(read, 40_000);
    await vi.advanceTimersByTimeAsync(3_000); // busy for 3 s
    active = 0;
    requests = 120;
    await vi.advanceTimersByTimeAsync(1_249); // the change is seen at 3.25 s, so the quiet period runs from there
    expect(lines.some((l) => l.msg === 'traffic stopped')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const { ms, ended } = await done();
    expect(ended).toBe('until');
    expect(ms).toBe(4_250);
    expect(lines.filter((l) => l.msg === 'traffic poll').every((l) => l.level === 'debug')).toBe(true);
    expect(lines.find((l) => l.msg === 'traffic stopped')).toMatchObject({
      level: 'info',
      plugin: 'envoy',
      quietMs: 1_000,
      sinceFailMs: 4_250,
    });
  });

  it('never ends before DRAIN_MIN, even when traffic was quiet all along', async () => {
    const { lines, done } = await drainWith(async () => stats('ingress', 0, 7), 40_000);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(lines.some((l) => l.msg === 'traffic stopped')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await done()).toEqual({ ms: 2_000, ended: 'until' });
  });

  it('waits the full DRAIN_TIMEOUT, with a warning, when the stats cannot be read', async () => {
    const { lines, done } = await drainWith(async () => Promise.reject(new Error('ECONNREFUSED')), 10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    const { ms, ended } = await done();
    expect(ended).toBe('elapsed');
    expect(ms).toBe(10_000);
    expect(lines.find((l) => l.msg.startsWith('traffic stats unreadable'))).toMatchObject({
      level: 'warn',
      error: 'ECONNREFUSED',
    });
  });

  it('waits the full DRAIN_TIMEOUT when the watched stats are missing', async () => {
    const { lines, done } = await drainWith(async () => stats('admin', 0, 5), 10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await done()).ended).toBe('elapsed');
    expect(lines.some((l) => l.msg.startsWith('traffic stats missing'))).toBe(true);
  });

  it('is not fooled by health checks: they move downstream_rq_total and, caught in flight, the active gauge', async () => {
    let healthChecks = 0;
    let polls = 0;
    // A health check every poll; every fourth poll catches one in flight. Callers are gone.
    const read = async () => {
      polls += 1;
      return stats('ingress', polls % 4 === 0 ? 1 : 0, 50, { healthChecks: (healthChecks += 1) });
    };
    const { lines, done } = await drainWith(read, 40_000);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await done()).toEqual({ ms: 2_000, ended: 'until' });
    expect(lines.find((l) => l.msg === 'traffic stopped')).toMatchObject({ quietMs: 2_000 });
  });

  it("holds the end while something is in flight, and counts a caller's request when it is answered", async () => {
    let active = 1;
    let completed = 10;
    const { done } = await drainWith(async () => stats('ingress', active, completed), 40_000);
    await vi.advanceTimersByTimeAsync(3_000); // a slow request, in flight past DRAIN_MIN
    active = 0;
    completed = 11;
    await vi.advanceTimersByTimeAsync(1_249); // answered; seen at 3.25 s
    await vi.advanceTimersByTimeAsync(1);
    expect(await done()).toEqual({ ms: 4_250, ended: 'until' });
  });

  it('never ends early while requests keep arriving', async () => {
    let requests = 0;
    const { lines, done } = await drainWith(async () => stats('ingress', 0, (requests += 1)), 10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await done()).ended).toBe('elapsed');
    expect(lines.some((l) => l.msg === 'traffic stopped')).toBe(false);
  });
});
