import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortReason, type Plugin } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import probe, { type ProbeOptions } from '../../../test/support/fixtures/probe.ts';

function setup(plugins: Plugin[], stopTimeout = 120) {
  const { runner, lines } = createTestRunner({ plugins, stopTimeout });
  const ran = () => lines.filter((l) => l.msg === 'probe ran').map((l) => `${l.plugin}:${l.hook}`);
  return { runner, lines, ran };
}

const probes = (...options: ProbeOptions[]) => options.map((o) => probe(o));

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('Runner', () => {
  it('runs the four hooks in order, by stage within a hook, and exits 0', async () => {
    const { runner, lines, ran } = setup(probes({ name: 'late', stage: 10 }, { name: 'early', stage: -10 }));
    await runner.start();
    expect(lines.some((l) => l.msg === 'ready')).toBe(true);
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(ran()).toEqual([
      'early:onStart',
      'late:onStart',
      'early:beforeDrain',
      'late:beforeDrain',
      'early:drain',
      'late:drain',
      'early:afterDrain',
      'late:afterDrain',
    ]);
    expect(lines.find((l) => l.msg === 'probe ran' && l.hook === 'drain')?.stopSignal).toBe('SIGTERM');
  });

  it('skips drain but not afterDrain when a beforeDrain tap returns { skip }', async () => {
    const { runner, lines, ran } = setup(probes({ name: 'gate', stage: -1, skip: true }, { name: 'after' }));
    await runner.start();
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(ran()).toEqual(['gate:onStart', 'after:onStart', 'gate:beforeDrain', 'gate:afterDrain', 'after:afterDrain']);
    expect(lines.find((l) => l.msg === 'drain skipped')?.reason).toBe('the probe said so');
    expect(lines.find((l) => l.msg === 'drain finished')?.skipped).toBe('the probe said so');
  });

  it('logs a throwing plugin with its name and hook, carries on, and exits 1', async () => {
    const { runner, lines, ran } = setup(probes({ name: 'broken', stage: -1, throwIn: 'drain' }, { name: 'fine' }));
    await runner.start();
    expect(await runner.stop('SIGTERM')).toBe(1);
    expect(ran()).toContain('fine:drain');
    expect(ran()).toContain('fine:afterDrain');
    const failure = lines.find((l) => l.msg === 'step failed');
    expect(failure).toMatchObject({
      plugin: 'broken',
      hook: 'drain',
      error: 'probe broken broke in drain',
      level: 'error',
    });
  });

  it('abandons a hanging plugin at its timeout, carries on, and exits 1', async () => {
    const { runner, lines, ran } = setup(
      probes({ name: 'stuck', stage: -1, hangIn: 'drain', timeout: 1_000 }, { name: 'fine' }),
    );
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(999);
    expect(ran()).not.toContain('fine:drain');
    await vi.advanceTimersByTimeAsync(200);
    expect(await stopped).toBe(1);
    expect(ran()).toContain('fine:drain');
    expect(lines.find((l) => l.msg === 'step timed out')).toMatchObject({
      plugin: 'stuck',
      hook: 'drain',
      error: 'did not finish within its 1000 ms timeout',
    });
  });

  it('cuts a long wait when the stop budget runs out, so afterDrain still runs before SIGKILL', async () => {
    // stopTimeout 10 s: waits end 2 s (a fifth of the budget) before SIGKILL would land.
    const { runner, lines, ran } = setup(
      probes({ name: 'slow', wait: { hook: 'drain', ms: 60_000 }, timeout: Infinity }),
      10,
    );
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(7_999);
    expect(ran()).not.toContain('slow:afterDrain');
    await vi.advanceTimersByTimeAsync(1);
    expect(await stopped).toBe(0);
    expect(ran()).toContain('slow:afterDrain');
    expect(lines.find((l) => l.msg === 'wait cut short')).toMatchObject({
      plugin: 'slow',
      waitedMs: 8_000,
      remainingMs: 52_000,
    });
    const summary = lines.find((l) => l.msg === 'drain finished');
    expect(summary?.ms).toBe(8_000);
    expect(summary?.steps).toContainEqual({ plugin: 'slow', hook: 'drain', ms: 8_000, outcome: 'cut' });
  });

  it('abandons an afterDrain tap that ignores the budget just before SIGKILL', async () => {
    const { runner, lines } = setup(probes({ name: 'stuck', hangIn: 'afterDrain', timeout: Infinity }), 10);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(9_850);
    expect(await stopped).toBe(1);
    expect(lines.find((l) => l.msg === 'drain finished')?.ms).toBeLessThan(10_000);
    expect(lines.find((l) => l.msg === 'step timed out')?.error).toBe('did not stop when asked (stop budget)');
  });

  it('logs progress with remainingMs during a long wait', async () => {
    const { runner, lines } = setup(probes({ wait: { hook: 'drain', ms: 12_000 }, timeout: Infinity }));
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(12_000);
    await stopped;
    expect(lines.filter((l) => l.msg === 'waiting').map((l) => l.remainingMs)).toEqual([7_000, 2_000]);
    expect(lines.find((l) => l.msg === 'probe waited')?.result).toBe('elapsed');
  });

  it('gives a stop that arrives during onStart the whole stop sequence', async () => {
    const { runner, lines, ran } = setup(probes({ wait: { hook: 'onStart', ms: 60_000 }, timeout: Infinity }));
    const started = runner.start();
    await vi.advanceTimersByTimeAsync(1_000);
    const stopped = runner.stop('SIGINT');
    await started;
    expect(await stopped).toBe(0);
    expect(ran()).toEqual(['probe:onStart', 'probe:beforeDrain', 'probe:drain', 'probe:afterDrain']);
    expect(lines.some((l) => l.msg === 'ready')).toBe(false);
    expect(lines.some((l) => l.msg === 'start interrupted by stop signal')).toBe(true);
  });

  it('runs the stop sequence once however often stop is called', async () => {
    const { runner, ran } = setup(probes({}));
    await runner.start();
    const first = runner.stop('SIGTERM');
    expect(runner.stop('SIGTERM')).toBe(first);
    await first;
    expect(ran().filter((r) => r === 'probe:drain')).toHaveLength(1);
  });

  it('aborts work a tap left running once its hook is over', async () => {
    const seen: string[] = [];
    const background: Plugin = {
      name: 'background',
      apply: (hooks) =>
        hooks.drain.tapPromise({ name: 'background' }, async (ctx) => {
          ctx.abortSignal.addEventListener('abort', () =>
            seen.push(`aborted: ${(ctx.abortSignal.reason as Error).message}`),
          );
        }),
    };
    const { runner } = setup([background, ...probes({ wait: { hook: 'drain', ms: 1_000 }, stage: 1 })]);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(999);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await stopped;
    expect(seen).toEqual(['aborted: hook finished']);
  });

  it('reports a plugin whose apply throws as a config error naming it', () => {
    const broken: Plugin = {
      name: 'broken',
      apply: () => {
        throw new Error('boom');
      },
    };
    expect(() => setup([broken])).toThrow('plugin "broken" could not be set up: boom');
  });
});

describe('Runner: taps that honour their abortSignal by rejecting', () => {
  const rejecting = (timeout: number): Plugin => ({
    name: 'fetcher',
    apply: (hooks) =>
      hooks.drain.tapPromise(
        { name: 'fetcher', timeout },
        (ctx) =>
          new Promise((_, reject) =>
            ctx.abortSignal.addEventListener('abort', () =>
              reject(new DOMException('This operation was aborted', 'AbortError')),
            ),
          ),
      ),
  });

  it('reports one stopped by its own timeout as timed out, not failed', async () => {
    const { runner, lines } = setup([rejecting(500)]);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(500);
    expect(await stopped).toBe(1);
    expect(lines.find((l) => l.msg === 'step timed out')).toMatchObject({
      plugin: 'fetcher',
      error: 'did not finish within its 500 ms timeout',
    });
  });

  it('reports one stopped by the stop budget as cut, as if it had returned, saying "aborted: stop budget"', async () => {
    const { runner, lines } = setup([rejecting(Infinity)], 10);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(8_000);
    expect(await stopped).toBe(0);
    expect(lines.find((l) => l.msg === 'step finished' && l.plugin === 'fetcher')).toMatchObject({
      outcome: 'cut',
      error: 'aborted: stop budget',
      level: 'warn',
    });
  });

  it('gives the abortSignal an Error with a code as its reason', async () => {
    const reasons: unknown[] = [];
    const watcher: Plugin = {
      name: 'w',
      apply: (hooks) =>
        hooks.drain.tapPromise({ name: 'w', timeout: Infinity }, (ctx) =>
          ctx.sleep(60_000).then(() => void reasons.push(ctx.abortSignal.reason)),
        ),
    };
    const { runner } = setup([watcher], 10);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(8_000);
    await stopped;
    expect(reasons).toEqual([AbortReason.stopBudget]);
    expect(reasons[0]).toMatchObject({ name: 'AbortError', code: 'STOP_BUDGET', message: 'stop budget' });
  });
});

describe("Runner: the drain's action starts on schedule, whatever other taps do", () => {
  /** A drain tap marked as the drain's action, logging when it runs and how its abortSignal fired. */
  const action = (): Plugin => ({
    name: 'action',
    apply: (hooks) =>
      hooks.drain.tapPromise({ name: 'action', drainAction: true, timeout: Infinity }, async (ctx) => {
        ctx.logger.info({ deadline: ctx.deadline }, 'action ran');
      }),
  });
  const wait = (hook: 'beforeDrain' | 'drain', ms: number, stage = 0): Plugin => ({
    name: `${hook}-wait`,
    apply: (hooks) =>
      hooks[hook].tapPromise(
        { name: `${hook}-wait`, stage, timeout: Infinity, plan: { label: 'wait', ms } },
        async (ctx) => void (await ctx.sleep(ms)),
      ),
  });

  it.each([
    [
      'a beforeDrain tap that hangs with timeout Infinity',
      probes({ name: 'hang', hangIn: 'beforeDrain', timeout: Infinity }),
    ],
    ['a beforeDrain tap with the default 10 s timeout that hangs', probes({ name: 'hang', hangIn: 'beforeDrain' })],
    [
      'a drain tap before the action that hangs',
      probes({ name: 'hang', hangIn: 'drain', stage: -10, timeout: Infinity }),
    ],
  ])('STOP_TIMEOUT 10 with DRAIN_TIMEOUT 40: %s is cut at 4 s and the action runs then', async (_, plugins) => {
    const { runner, lines } = setup([...plugins, action(), wait('drain', 40_000, 100)], 10);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(3_999);
    expect(lines.some((l) => l.msg === 'action ran')).toBe(false);
    await vi.advanceTimersByTimeAsync(101 + 1);
    expect(lines.some((l) => l.msg === 'action ran')).toBe(true);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(await stopped).toBe(1);
    const summary = lines.find((l) => l.msg === 'drain finished');
    expect(summary?.steps).toContainEqual(expect.objectContaining({ plugin: 'action', outcome: 'ok' }));
    expect(summary?.steps).toContainEqual(
      expect.objectContaining({
        plugin: 'hang',
        outcome: 'timeout',
        error: 'did not stop when asked (drain action due)',
      }),
    );
  });

  it('STOP_TIMEOUT 30 with the defaults: DRAIN_DELAY is cut at 12.5 s, the action runs then, DRAIN_TIMEOUT gets 12.5 s', async () => {
    const { runner, lines } = setup([wait('beforeDrain', 40_000), action(), wait('drain', 40_000, 100)], 30);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await stopped).toBe(0);
    const at = (msg: string) =>
      (lines.find((l) => l.msg === msg)?.time as number) -
      (lines.find((l) => l.msg === 'stop signal received')?.time as number);
    expect(at('action ran')).toBe(12_500);
    expect(lines.find((l) => l.msg === 'action ran')?.deadline).toBe(
      (lines.find((l) => l.msg === 'stop signal received')?.time as number) + 25_000,
    );
    expect(lines.filter((l) => l.msg === 'wait cut short').map((l) => [l.plugin, l.waitedMs, l.cause])).toEqual([
      ['beforeDrain-wait', 12_500, 'drain action due'],
      ['drain-wait', 12_500, 'stop budget'],
    ]);
  });

  it("does not cut drain taps after the action at the action's due time", async () => {
    const { runner, lines } = setup([wait('beforeDrain', 1_000), action(), wait('drain', 20_000, 100)], 30);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(21_000);
    expect(await stopped).toBe(0);
    expect(lines.filter((l) => l.msg === 'wait cut short')).toEqual([]);
  });

  it("reports the drain's action cut by the budget as failed: the fail may not have gone out", async () => {
    const stuck: Plugin = {
      name: 'action',
      apply: (hooks) =>
        hooks.drain.tapPromise(
          { name: 'action', drainAction: true, timeout: Infinity },
          (ctx) =>
            new Promise((_, reject) => ctx.abortSignal.addEventListener('abort', () => reject(ctx.abortSignal.reason))),
        ),
    };
    const { runner, lines } = setup([stuck], 10);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(8_000);
    expect(await stopped).toBe(1);
    expect(lines.find((l) => l.msg === 'step failed')).toMatchObject({
      plugin: 'action',
      error: 'aborted: stop budget',
    });
  });
});

describe('Runner: the hooks a plugin gets', () => {
  it('are tap-only for a plain { name, apply } plugin too: nothing that runs or intercepts a hook', async () => {
    let seen: Record<string, string[]> = {};
    const raw: Plugin = {
      name: 'raw',
      apply(hooks) {
        seen = Object.fromEntries(Object.entries(hooks).map(([name, hook]) => [name, Object.keys(hook).sort()]));
        hooks.drain.tap({ name: 'raw-sync' }, () => undefined);
        hooks.drain.tapAsync({ name: 'raw-async' }, (_ctx, done) => done());
        hooks.drain.tapPromise({ name: 'raw-promise' }, async () => undefined);
      },
    };
    const { runner, logged } = createTestRunner({ plugins: [raw] });
    expect(seen).toEqual(
      Object.fromEntries(
        ['onStart', 'beforeDrain', 'drain', 'afterDrain', 'health'].map((h) => [h, ['tap', 'tapAsync', 'tapPromise']]),
      ),
    );
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(logged('step finished').map((l) => [l.plugin, l.outcome])).toEqual([
      ['raw-sync', 'ok'],
      ['raw-async', 'ok'],
      ['raw-promise', 'ok'],
    ]);
  });
});
