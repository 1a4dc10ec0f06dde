import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TRAFFIC_STOPPED, definePlugin, type HookContext } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import { sampleTraffic, watchTraffic, type Stat } from '@task-helper/plugin-envoy';

const stats = (prefix: string, active: number, total: number, healthChecks = 0): Stat[] => [
  { name: `http.${prefix}.downstream_rq_active`, value: active },
  { name: `http.${prefix}.downstream_rq_total`, value: total },
  { name: `http.${prefix}.health_check.request_total`, value: healthChecks },
];

describe('sampleTraffic', () => {
  it('sums every connection manager but admin, minus health-check requests', () => {
    expect(sampleTraffic([...stats('ingress', 2, 100, 30), ...stats('egress', 1, 5), ...stats('admin', 9, 999)], [])).toEqual({ active: 3, requests: 75 });
  });

  it('watches only the named prefixes when given', () => {
    expect(sampleTraffic([...stats('ingress', 0, 10), ...stats('egress', 4, 50)], ['ingress'])).toEqual({ active: 0, requests: 10 });
  });

  it('is undefined when a watched prefix is missing or there is nothing but admin', () => {
    expect(sampleTraffic(stats('egress', 0, 1), ['ingress'])).toBeUndefined();
    expect(sampleTraffic(stats('admin', 0, 1), [])).toBeUndefined();
  });
});

describe('watchTraffic', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  /** Runs watchTraffic inside a real drain hook, with the delay plugin's seam: a wait that ends on TRAFFIC_STOPPED. */
  async function drainWith(read: () => Promise<Stat[]>, drainTimeoutMs: number) {
    let ended: string | undefined;
    const plugin = definePlugin({
      name: 'envoy',
      apply: (hooks) => {
        hooks.drain.tapPromise({ name: 'envoy' }, async (ctx: HookContext) => void watchTraffic(ctx, read, { drainMinMs: 2_000, quietMs: 1_000, statPrefixes: [] }));
        hooks.drain.tapPromise({ name: 'delay', stage: 100, timeout: Infinity }, async (ctx) => void (ended = await ctx.sleep(drainTimeoutMs, { until: ctx.shared.whenSet(TRAFFIC_STOPPED) })));
      },
    });
    const { runner, lines } = createTestRunner({ plugins: [plugin] });
    await runner.start();
    const started = Date.now();
    const stopped = runner.stop('SIGTERM');
    return { lines, done: async () => ((await stopped), { ms: Date.now() - started, ended }) };
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
    expect(lines.find((l) => l.msg === 'traffic stopped')).toMatchObject({ level: 'info', plugin: 'envoy', quietMs: 1_000, sinceFailMs: 4_250 });
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
    expect(lines.find((l) => l.msg.startsWith('traffic stats unreadable'))).toMatchObject({ level: 'warn', error: 'ECONNREFUSED' });
  });

  it('waits the full DRAIN_TIMEOUT when the watched stats are missing', async () => {
    const { lines, done } = await drainWith(async () => stats('admin', 0, 5), 10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await done()).ended).toBe('elapsed');
    expect(lines.some((l) => l.msg.startsWith('traffic stats missing'))).toBe(true);
  });

  it('never ends early while requests keep arriving', async () => {
    let requests = 0;
    const { lines, done } = await drainWith(async () => stats('ingress', 0, (requests += 1)), 10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await done()).ended).toBe('elapsed');
    expect(lines.some((l) => l.msg === 'traffic stopped')).toBe(false);
  });
});
