import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { definePlugin, Stage } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

/** A `beside` tap that waits `ms` (plugin `side`), and a plain tap after it that waits `nextMs` (plugin `next`); both log when they start and end. */
function pair(ms: number, nextMs: number, besideTimeout?: number) {
  const side = definePlugin({
    name: 'side',
    apply(hooks) {
      hooks.drain.tapPromise(
        { stage: Stage.DRAIN_DEREGISTER, beside: true, ...(besideTimeout ? { timeout: besideTimeout } : {}) },
        async (ctx) => {
          ctx.logger.info('side started');
          await ctx.sleep(ms);
          if (ctx.abortSignal.aborted) throw new Error('side stopped');
          ctx.logger.info('side ended');
        },
      );
    },
  });
  const next = definePlugin({
    name: 'next',
    apply(hooks) {
      hooks.drain.tapPromise({ stage: Stage.DRAIN_WAIT, timeout: Infinity }, async (ctx) => {
        ctx.logger.info('next started');
        await ctx.sleep(nextMs);
      });
      hooks.afterDrain.tapPromise({}, async (ctx) => void ctx.logger.info('after started'));
    },
  });
  return [side(), next()];
}

it('a beside tap does not hold up the taps after it, and its hook waits for it before ending', async () => {
  const { runner, lines } = createTestRunner({ plugins: pair(3_000, 1_000) });
  const stopped = runner.stop('SIGTERM');
  await vi.advanceTimersByTimeAsync(0);
  expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['side started', 'next started']));
  await vi.advanceTimersByTimeAsync(1_500);
  expect(lines.some((l) => l.msg === 'after started')).toBe(false);
  await vi.advanceTimersByTimeAsync(1_500);
  expect(await stopped).toBe(0);
  const order = lines.map((l) => l.msg).filter((m) => m.endsWith('started') || m.endsWith('ended'));
  expect(order).toEqual(['side started', 'next started', 'side ended', 'after started']);
  expect(runner.steps.find((s) => s.plugin === 'side')).toMatchObject({ hook: 'drain', outcome: 'ok', ms: 3_000 });
});

it('a beside tap is still bounded by its own timeout, and its failure makes the exit code 1', async () => {
  const { runner } = createTestRunner({ plugins: pair(60_000, 0, 2_000) });
  const stopped = runner.stop('SIGTERM');
  await vi.advanceTimersByTimeAsync(2_000);
  expect(await stopped).toBe(1);
  expect(runner.steps.find((s) => s.plugin === 'side')).toMatchObject({ outcome: 'timeout' });
});
