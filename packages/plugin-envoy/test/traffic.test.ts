import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TRAFFIC_STOPPED, type HookContext, type Plugin } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import envoy from '@task-helper/plugin-envoy';
import {
  measurePace,
  quietPeriod,
  sampleTraffic,
  trafficStatsFilter,
  watchTraffic,
  type PaceReader,
  type Stat,
} from '../src/traffic.ts';

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

  it('holds the end while a request in flight at the fail runs, and ends at the read that sees it answered', async () => {
    let active = 1;
    let completed = 10;
    const { done } = await drainWith(async () => stats('ingress', active, completed), 40_000);
    await vi.advanceTimersByTimeAsync(3_000); // a slow request, in flight past DRAIN_MIN
    active = 0;
    completed = 11;
    await vi.advanceTimersByTimeAsync(250); // answered; seen at 3.25 s: sent before the fail, it is no caller still sending
    expect(await done()).toEqual({ ms: 3_250, ended: 'until' });
  });

  it('restarts the quiet period when a request sent after the fail is answered, even one that was in flight at a read', async () => {
    let active = 0;
    let completed = 10;
    const { done } = await drainWith(async () => stats('ingress', active, completed), 40_000);
    await vi.advanceTimersByTimeAsync(1_000);
    active = 1; // a caller still sending: its request seen in flight at 1 s
    await vi.advanceTimersByTimeAsync(2_000);
    active = 0;
    completed = 11;
    await vi.advanceTimersByTimeAsync(1_249); // answered; seen at 3.25 s, so the quiet period runs from there
    await vi.advanceTimersByTimeAsync(1);
    expect(await done()).toEqual({ ms: 4_250, ended: 'until' });
  });

  it('takes no more answers for the tail than requests were in flight at the fail', async () => {
    let active = 1;
    let completed = 10;
    const { done } = await drainWith(async () => stats('ingress', active, completed), 40_000);
    await vi.advanceTimersByTimeAsync(1_000);
    active = 2; // one more, sent after the fail
    await vi.advanceTimersByTimeAsync(1_000);
    active = 1;
    completed = 11; // one answered: taken as the tail
    await vi.advanceTimersByTimeAsync(1_000);
    active = 0;
    completed = 12; // the other: the tail is used up, so this is a caller's, seen at 3.25 s
    await vi.advanceTimersByTimeAsync(1_249);
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

describe("quietPeriod: the quiet period follows the callers' pace before the fail", () => {
  const pace = (windowMs: number, requests: number, longestSilenceMs = 0) => ({ windowMs, requests, longestSilenceMs });

  it('is 10 mean gaps between requests', () => {
    // 50 requests in 2 s: one every 40 ms.
    expect(quietPeriod(pace(2_000, 50), 1_000)).toEqual({ quietMs: 400, basis: 'callers pace', meanGapMs: 40 });
  });

  it('never goes under 200 ms, however busy the callers', () => {
    expect(quietPeriod(pace(2_000, 4_000), 1_000)).toMatchObject({ quietMs: 200, meanGapMs: 0.5 });
  });

  it('never goes over DRAIN_QUIET_PERIOD: sparse callers get all of it', () => {
    expect(quietPeriod(pace(2_000, 8), 1_000)).toMatchObject({ quietMs: 1_000, meanGapMs: 250 });
    expect(quietPeriod(pace(2_000, 8), 3_000)).toMatchObject({ quietMs: 2_500 });
  });

  it('lasts at least the longest silence the callers showed, so bursty callers are not taken for gone', () => {
    // A busy mean (10 ms apart), but once nothing came back for 600 ms.
    expect(quietPeriod(pace(2_000, 200, 600), 1_000)).toMatchObject({ quietMs: 600, meanGapMs: 10 });
  });

  it('is DRAIN_QUIET_PERIOD when the callers sent nothing during DRAIN_DELAY', () => {
    expect(quietPeriod(pace(40_000, 0, 40_000), 1_000)).toEqual({
      quietMs: 1_000,
      basis: 'no requests during DRAIN_DELAY',
    });
  });

  it('is DRAIN_QUIET_PERIOD when the pace was not measured (no DRAIN_DELAY, unreadable stats)', () => {
    expect(quietPeriod(undefined, 1_000)).toEqual({ quietMs: 1_000, basis: 'pace not measured' });
    expect(quietPeriod(pace(499, 100), 1_000)).toEqual({ quietMs: 1_000, basis: 'pace not measured' });
  });

  it('keeps a DRAIN_QUIET_PERIOD set under the floor', () => {
    expect(quietPeriod(pace(2_000, 4_000), 100)).toMatchObject({ quietMs: 100 });
  });
});

describe('measurePace and watchTraffic: a stop with DRAIN_DELAY, then the traffic-aware end', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  /**
   * A stop as the plugins run it: measurePace from the signal through the DRAIN_DELAY wait, then
   * watchTraffic with what it measured, and the DRAIN_TIMEOUT wait ending on TRAFFIC_STOPPED.
   * `completed(ms)`: the callers' requests answered by `ms` after the signal; `active(ms)`: in flight.
   */
  async function stopWith(
    completed: (ms: number) => number,
    {
      delayMs = 2_000,
      drainMinMs = 0,
      quietMs = 1_000,
      drainTimeoutMs = 10_000,
      active = () => 0,
      fails = () => false,
      readMs = () => 0,
    }: {
      delayMs?: number;
      drainMinMs?: number;
      quietMs?: number;
      drainTimeoutMs?: number;
      active?: (ms: number) => number;
      fails?: (ms: number) => boolean;
      /** How long Envoy takes to answer a read that starts `ms` after the signal. */
      readMs?: (ms: number) => number;
    } = {},
  ) {
    let signalAt = 0;
    let failAt = 0;
    let reads = 0;
    const read = async (): Promise<Stat[]> => {
      reads += 1;
      const took = readMs(Date.now() - signalAt);
      if (took > 0) await new Promise((resolve) => setTimeout(resolve, took));
      const ms = Date.now() - signalAt;
      if (fails(ms)) throw new Error('ECONNREFUSED');
      return stats('ingress', active(ms), completed(ms));
    };
    let pace: PaceReader | undefined;
    let ended: string | undefined;
    const plugin: Plugin = {
      name: 'envoy',
      apply: (hooks) => {
        hooks.beforeDrain.tapPromise({ name: 'envoy' }, async (ctx) => void (pace = measurePace(ctx, read, [])));
        hooks.beforeDrain.tapPromise(
          { name: 'delay', stage: 10, timeout: Infinity },
          async (ctx) => void (await ctx.sleep(delayMs)),
        );
        hooks.drain.tapPromise({ name: 'envoy' }, async (ctx) => {
          failAt = Date.now();
          void watchTraffic(ctx, read, { drainMinMs, quietMs, statPrefixes: [] }, pace?.());
        });
        hooks.drain.tapPromise(
          { name: 'delay', stage: 100, timeout: Infinity },
          async (ctx) => void (ended = await ctx.sleep(drainTimeoutMs, { until: ctx.shared.whenSet(TRAFFIC_STOPPED) })),
        );
      },
    };
    const { runner, lines } = createTestRunner({ plugins: [plugin] });
    await runner.start();
    signalAt = Date.now();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(delayMs + drainTimeoutMs + 1_000);
    await stopped;
    const stoppedLine = lines.find((l) => l.msg === 'traffic stopped');
    return {
      lines,
      reads: () => reads,
      ended,
      quiet: lines.find((l) => l.msg === 'quiet period set'),
      /** When the drain ended by traffic stopped, from the fail. */
      endAfterFailMs: stoppedLine ? (stoppedLine.time as number) - failAt : undefined,
      failAfterSignalMs: failAt - signalAt,
    };
  }

  // Busy callers: 2 requests answered every millisecond until they leave, `leaveMs` after the signal.
  const busyUntil = (leaveMs: number) => (ms: number) => 2 * Math.min(ms, leaveMs);

  it('ends within 300 ms of the last request when busy callers leave', async () => {
    const run = await stopWith(busyUntil(2_300));
    expect(run.quiet).toMatchObject({ level: 'info', quietMs: 200, basis: 'callers pace', meanGapMs: 0.5 });
    expect(run.ended).toBe('until');
    // They left 300 ms after the fail; the end comes 200 ms of quiet after a read sees it (reads every 100 ms).
    expect(run.endAfterFailMs).toBeGreaterThanOrEqual(300 + 200);
    expect(run.endAfterFailMs).toBeLessThanOrEqual(300 + 300);
  });

  it('still never ends before DRAIN_MIN', async () => {
    const run = await stopWith(busyUntil(2_000), { drainMinMs: 1_000 });
    expect(run.endAfterFailMs).toBe(1_000);
  });

  it('counts the quiet period between reads however long each takes, so it ends at the read due', async () => {
    // Callers leave 300 ms after the fail: the quiet period, 200 ms, is due at the read that starts
    // 200 ms after the one that saw the last answer, whichever of the two took longer.
    const run = await stopWith(busyUntil(2_300), { readMs: (ms) => (ms === 2_300 ? 30 : 10) });
    // The read that saw it started 300 ms after the fail and took 30 ms; the one 200 ms later took 10.
    expect(run.endAfterFailMs).toBe(300 + 200 + 10);
  });

  it('reads at a steady cadence and right at DRAIN_MIN, however long a read takes', async () => {
    // 30 ms a read: ten reads 100 ms apart plus their own time would drift to 1.3 s.
    const run = await stopWith(busyUntil(2_000), { drainMinMs: 1_000, readMs: () => 30 });
    expect(run.endAfterFailMs).toBeGreaterThanOrEqual(1_000);
    expect(run.endAfterFailMs).toBeLessThanOrEqual(1_000 + 30);
  });

  it('holds the end while a request is in flight, and ends within a read of its answer', async () => {
    // Callers leave at the fail; one request stays in flight until 2 s after it.
    const slowDone = 4_000;
    const run = await stopWith((ms) => busyUntil(2_000)(ms) + (ms >= slowDone ? 1 : 0), {
      active: (ms) => (ms < slowDone ? 1 : 0),
    });
    // In flight at the fail, so its answer is the traffic's end: the read that sees it ends the drain.
    expect(run.endAfterFailMs).toBeGreaterThanOrEqual(slowDone - 2_000);
    expect(run.endAfterFailMs).toBeLessThanOrEqual(slowDone - 2_000 + 100);
  });

  it('keeps the task while callers still send at their pace (callers without active health checks)', async () => {
    // One request every 50 ms, before the fail and after it: a quiet period of 500 ms never comes.
    const run = await stopWith((ms) => Math.floor(ms / 50));
    expect(run.quiet).toMatchObject({ quietMs: 500, meanGapMs: 50 });
    expect(run.ended).toBe('elapsed');
    expect(run.lines.some((l) => l.msg === 'traffic stopped')).toBe(false);
  });

  it('gives sparse callers all of DRAIN_QUIET_PERIOD', async () => {
    // One request every 300 ms until 2.4 s after the signal.
    const run = await stopWith((ms) => Math.floor(Math.min(ms, 2_400) / 300));
    expect(run.quiet).toMatchObject({ quietMs: 1_000, basis: 'callers pace' });
    expect(run.endAfterFailMs).toBeGreaterThanOrEqual(400 + 1_000);
  });

  it('gives callers that sent nothing during DRAIN_DELAY all of DRAIN_QUIET_PERIOD, not a hasty end', async () => {
    const run = await stopWith(() => 7);
    expect(run.quiet).toMatchObject({ quietMs: 1_000, basis: 'no requests during DRAIN_DELAY', requests: 0 });
    expect(run.endAfterFailMs).toBeGreaterThanOrEqual(1_000);
  });

  it('takes a pause the callers made during DRAIN_DELAY as the least quiet that counts', async () => {
    // Busy, but nothing answered from 0.5 s to 1.5 s after the signal.
    const run = await stopWith((ms) => 2 * (Math.min(ms, 500) + Math.max(0, Math.min(ms, 2_300) - 1_500)));
    expect(run.quiet?.quietMs as number).toBeGreaterThanOrEqual(500);
    expect(run.endAfterFailMs).toBeGreaterThanOrEqual(300 + 500);
  });

  it('falls back to DRAIN_QUIET_PERIOD when a read during DRAIN_DELAY fails', async () => {
    const run = await stopWith(busyUntil(2_000), { fails: (ms) => ms > 700 && ms < 1_200 });
    expect(run.quiet).toMatchObject({ quietMs: 1_000, basis: 'pace not measured' });
    expect(run.endAfterFailMs).toBeGreaterThanOrEqual(1_000);
  });

  it('reads every 500 ms during DRAIN_DELAY, and no more once it is over', async () => {
    const run = await stopWith(() => 0, { delayMs: 40_000, drainTimeoutMs: 1_000 });
    // 80 reads in 40 s of delay (the first 500 ms after the signal), then the drain's own every 250 ms until it ends at 1 s.
    expect(run.reads()).toBeLessThanOrEqual(80 + 5);
    expect(run.reads()).toBeGreaterThanOrEqual(79 + 4);
  });

  it('stops reading without a warning when DRAIN_DELAY ends', async () => {
    const run = await stopWith(busyUntil(2_000), { delayMs: 1_750 });
    expect(run.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('keeps DRAIN_QUIET_PERIOD without a DRAIN_DELAY to measure in', async () => {
    const run = await stopWith(busyUntil(0), { delayMs: 0 });
    expect(run.quiet).toMatchObject({ quietMs: 1_000, basis: 'pace not measured' });
  });
});
