import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { definePlugin, REPLACEMENTS_IN_SERVICE, Stage, TRAFFIC_STOPPED } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import delay from '@task-helper/plugin-delay';

function setup(
  env: NodeJS.ProcessEnv,
  extra = definePlugin({ name: 'none', apply: () => undefined })(),
  stopTimeout = 120,
) {
  const { runner, lines } = createTestRunner({ plugins: [delay(), extra], env, stopTimeout });
  const ended = (wait: string) => lines.find((l) => l.msg === `${wait} ended`);
  return { runner, lines, ended };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('plugin-delay', () => {
  it('waits DRAIN_DELAY in beforeDrain, then DRAIN_TIMEOUT in drain', async () => {
    const { runner, ended } = setup({ DRAIN_DELAY: '1', DRAIN_TIMEOUT: '2.5' });
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(999);
    expect(ended('drainDelay')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(ended('drainDelay')).toMatchObject({ ms: 1_000, reason: 'timeout', hook: 'beforeDrain' });
    await vi.advanceTimersByTimeAsync(2_499);
    expect(ended('drainTimeout')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(await stopped).toBe(0);
    expect(ended('drainTimeout')).toMatchObject({ ms: 2_500, reason: 'timeout', hook: 'drain' });
  });

  it('counts DRAIN_DELAY from the stop signal, so a check before it does not lengthen it', async () => {
    const check = definePlugin({
      name: 'check',
      apply: (hooks) =>
        hooks.beforeDrain.tapPromise({ stage: Stage.BEFORE_DRAIN_DECIDE }, async (ctx) => void (await ctx.sleep(300))),
    })();
    const { runner, lines } = setup({ DRAIN_DELAY: '1', DRAIN_TIMEOUT: '1' }, check);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await stopped).toBe(0);
    const at = (msg: string) => lines.find((l) => l.msg === msg)?.time as number;
    expect(lines.find((l) => l.msg === 'drainDelay started')?.ms).toBe(700);
    expect(at('drainDelay ended') - at('stop signal received')).toBe(1_000);
  });

  it('defaults to 40 s and 40 s', async () => {
    const { runner, lines } = setup({});
    await runner.start();
    void runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(40_000);
    expect(lines.filter((l) => l.msg.endsWith(' started')).map((l) => [l.wait, l.ms])).toEqual([
      ['drainDelay', 40_000],
      ['drainTimeout', 40_000],
    ]);
  });

  it('ends the DRAIN_TIMEOUT wait early once another plugin says traffic has stopped', async () => {
    const watcher = definePlugin({
      name: 'watcher',
      apply: (hooks) =>
        hooks.drain.tapPromise(
          { stage: Stage.DRAIN_ACTION },
          async (ctx) => void setTimeout(() => ctx.shared.set(TRAFFIC_STOPPED, { quietMs: 0, sinceFailMs: 700 }), 700),
        ),
    })();
    const { runner, ended } = setup({ DRAIN_DELAY: '0', DRAIN_TIMEOUT: '40' }, watcher);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(700);
    expect(await stopped).toBe(0);
    expect(ended('drainTimeout')).toMatchObject({ ms: 700, reason: 'traffic stopped' });
  });

  it('ends the DRAIN_DELAY wait early once another plugin says the replacements are in service, and not before', async () => {
    const watcher = definePlugin({
      name: 'watcher',
      apply: (hooks) =>
        hooks.beforeDrain.tapPromise(
          { stage: Stage.BEFORE_DRAIN_PREPARE },
          async (ctx) =>
            void setTimeout(
              () => ctx.shared.set(REPLACEMENTS_IN_SERVICE, { replacements: 2, required: 2, sinceSignalMs: 12_300 }),
              12_300,
            ),
        ),
    })();
    const { runner, ended, lines } = setup({ DRAIN_DELAY: '40', DRAIN_TIMEOUT: '1' }, watcher);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(12_299);
    expect(ended('drainDelay')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(ended('drainDelay')).toMatchObject({ ms: 12_300, reason: 'replacements in service' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await stopped).toBe(0);
    expect(lines.findIndex((l) => l.msg === 'drainDelay ended')).toBeLessThan(
      lines.findIndex((l) => l.msg === 'drainTimeout started'),
    );
  });

  it('is cut by the stop budget, which it reports as such', async () => {
    // stopTimeout 10 s: waits must end 2 s before SIGKILL, so the 40 s DRAIN_TIMEOUT gets 8 s.
    const { runner, ended, lines } = setup({ DRAIN_DELAY: '0', DRAIN_TIMEOUT: '40' }, undefined, 10);
    await runner.start();
    const stopped = runner.stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(8_000);
    expect(await stopped).toBe(0);
    expect(ended('drainTimeout')).toMatchObject({ ms: 8_000, reason: 'budget' });
    expect(lines.find((l) => l.msg === 'wait cut short')).toMatchObject({ wait: 'drainTimeout', remainingMs: 32_000 });
  });

  it.each([
    [
      { DRAIN_DELAY: 'abc' },
      'plugin "delay": DRAIN_DELAY="abc" is invalid: expected a number of seconds ≥ 0, such as 40',
    ],
    [{ DRAIN_TIMEOUT: '-1' }, 'plugin "delay": DRAIN_TIMEOUT="-1" is invalid'],
    [{ DRAIN_TIMEOUT: '' }, 'plugin "delay": DRAIN_TIMEOUT="" is invalid'],
  ])('rejects %j at setup', (env, message) => {
    expect(() => setup(env)).toThrow(message);
  });
});

describe('plugin-delay stop budget planning', () => {
  it('warns once at setup, naming the three numbers and the cut, when the waits do not fit', () => {
    const { lines } = createTestRunner({
      plugins: [delay()],
      stopTimeout: 60,
      env: { DRAIN_DELAY: '40', DRAIN_TIMEOUT: '40' },
    });
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toBe(
      'DRAIN_DELAY 40 s + DRAIN_TIMEOUT 40 s + 5 s kept for afterDrain do not fit STOP_TIMEOUT 60 s: DRAIN_DELAY will be cut to 27.5 s and DRAIN_TIMEOUT to 27.5 s, so the drain starts at 27.5 s and callers get 27.5 s to notice it (afterDrain still runs before SIGKILL); raise stopTimeout or shorten the waits',
    );
  });

  it('says nothing when they fit', () => {
    const { lines } = createTestRunner({ plugins: [delay()] });
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });
});
