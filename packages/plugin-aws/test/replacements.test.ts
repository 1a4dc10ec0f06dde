// DRAIN_DELAY_UNTIL=replacements: the rule, and the loop that reads the service until it holds,
// on fake timers. The reads here are the rule's input, scripted by time; what they ask AWS is
// tested against moto (test/aws/replacements.test.ts).
import { definePlugin, REPLACEMENTS_IN_SERVICE, Stage } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextPollMs, ReplacementsRule, watchReplacements, type ServiceView } from '../src/replacements.ts';

const OLD = 'ecs-svc/old';
const NEW = 'ecs-svc/new';
const view = (
  desiredCount: number,
  healthy: Array<[string, string | undefined]>,
  primary = NEW,
  seenAt = Number.POSITIVE_INFINITY,
): ServiceView => ({
  desiredCount,
  primaryDeployment: primary,
  healthy: healthy.map(([id, deployment]) => ({ id, deployment })),
  // Infinity: seen when the rule is told (`now`); the reads in the loop below say when discovery answered.
  seenAt,
});

describe('ReplacementsRule', () => {
  it('holds once `desiredCount` PRIMARY instances have each been seen healthy for the propagation time', () => {
    const rule = new ReplacementsRule(10_000, undefined);
    expect(
      rule.observe(
        view(2, [
          ['old-2', OLD],
          ['new-1', NEW],
        ]),
        0,
      ),
    ).toMatchObject({
      required: 2,
      replacements: 1,
      open: 'replacements',
      readyAt: undefined,
    });
    expect(
      rule.observe(
        view(2, [
          ['old-2', OLD],
          ['new-1', NEW],
          ['new-2', NEW],
        ]),
        3_000,
      ),
    ).toMatchObject({
      replacements: 2,
      propagated: 0,
      open: 'propagation',
      readyAt: 13_000,
    });
    expect(
      rule.observe(
        view(2, [
          ['new-1', NEW],
          ['new-2', NEW],
        ]),
        12_999,
      ),
    ).toMatchObject({ open: 'propagation' });
    expect(
      rule.observe(
        view(2, [
          ['new-1', NEW],
          ['new-2', NEW],
        ]),
        13_000,
      ),
    ).toMatchObject({
      replacements: 2,
      propagated: 2,
      open: undefined,
    });
  });

  it('never counts an instance of another deployment, or one no task matches', () => {
    const rule = new ReplacementsRule(0, undefined);
    expect(
      rule.observe(
        view(2, [
          ['old-2', OLD],
          ['manual', undefined],
          ['new-1', NEW],
        ]),
        0,
      ),
    ).toMatchObject({
      replacements: 1,
      open: 'replacements',
    });
  });

  it('starts an instance’s time again when it drops out of discovery', () => {
    const rule = new ReplacementsRule(10_000, undefined);
    rule.observe(view(1, [['new-1', NEW]]), 0);
    rule.observe(view(1, []), 5_000);
    expect(rule.observe(view(1, [['new-1', NEW]]), 8_000)).toMatchObject({ readyAt: 18_000 });
  });

  it('counts an instance from when discovery answered, not from when the read (its ECS calls too) ended', () => {
    const rule = new ReplacementsRule(10_000, undefined);
    expect(rule.observe(view(1, [['new-1', NEW]], NEW, 1_000), 1_400)).toMatchObject({ readyAt: 11_000 });
  });

  it('REPLACEMENTS_MIN replaces desiredCount; a service scaled to zero holds at once', () => {
    expect(new ReplacementsRule(0, 1).observe(view(3, [['new-1', NEW]]), 0)).toMatchObject({
      required: 1,
      open: undefined,
    });
    expect(new ReplacementsRule(10_000, undefined).observe(view(0, []), 0)).toMatchObject({
      required: 0,
      open: undefined,
    });
  });

  it('the propagation time counts from the `required`-th earliest sighting', () => {
    const rule = new ReplacementsRule(10_000, 2);
    rule.observe(view(2, [['a', NEW]]), 0);
    rule.observe(
      view(2, [
        ['a', NEW],
        ['b', NEW],
      ]),
      4_000,
    );
    expect(
      rule.observe(
        view(2, [
          ['a', NEW],
          ['b', NEW],
          ['c', NEW],
        ]),
        6_000,
      ),
    ).toMatchObject({ readyAt: 14_000 });
  });
});

describe('nextPollMs', () => {
  it('draws from 1.5–2.5 s, so a deployment’s helpers do not read in step', () => {
    expect(nextPollMs(() => 0)).toBe(1_500);
    expect(nextPollMs(() => 0.5)).toBe(2_000);
    expect(nextPollMs(() => 0.999_999)).toBe(2_500);
  });
});

/**
 * The loop in a runner, as the cloud-map plugin taps it, beside a 40 s wait that ends on the fact
 * (plugin-delay's DRAIN_DELAY, in miniature). `world(t)` is the service `t` ms after the signal;
 * each read takes 50 ms, discovery answering halfway.
 */
function harness(
  world: (t: number) => ServiceView,
  {
    propagationMs = 10_000,
    min = undefined as number | undefined,
    fail = undefined as undefined | ((t: number) => Error | undefined),
    hangFrom = Infinity,
  } = {},
) {
  const reads: number[] = [];
  let signalAt = 0;
  let setAt: number | undefined;
  let failure: unknown;
  let result: unknown;
  let signal: AbortSignal | undefined;
  const read = async () => {
    const t = Date.now() - signalAt;
    reads.push(t);
    // From `hangFrom` on, a call that answers only by being aborted, as the SDK's does.
    if (t >= hangFrom)
      await new Promise((_, reject) => signal!.addEventListener('abort', () => reject(new Error('aborted'))));
    await new Promise((resolve) => setTimeout(resolve, 25));
    const error = fail?.(t);
    if (error) throw error;
    // Discovery answers after 25 ms, the ECS calls after another 25.
    const seenAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 25));
    return { ...world(t), seenAt };
  };
  const plugin = definePlugin({
    name: 'watch',
    apply: (hooks) => {
      hooks.beforeDrain.tapPromise({ stage: Stage.BEFORE_DRAIN_PREPARE }, async (ctx) => {
        signalAt = ctx.signalAt;
        signal = ctx.abortSignal;
        void watchReplacements(ctx, read, new ReplacementsRule(propagationMs, min), { serviceId: 'srv-1' }).then(
          (value) => void (result = value),
          (error: unknown) => void (failure = error),
        );
      });
      hooks.beforeDrain.tapPromise({ stage: Stage.BEFORE_DRAIN_DELAY, timeout: Infinity }, async (ctx) => {
        const until = ctx.shared.whenSet(REPLACEMENTS_IN_SERVICE).then(() => void (setAt = Date.now() - signalAt));
        await ctx.sleep(40_000, { until });
      });
    },
  })();
  const { runner, logged } = createTestRunner({ plugins: [plugin] });
  return {
    stop: () => runner.stop('SIGTERM'),
    reads,
    setAt: () => setAt,
    failure: () => failure,
    result: () => result,
    progress: () => logged('waiting for replacements'),
  };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('watchReplacements', () => {
  it('rolling update: the end comes within 3 s of the replacements being healthy plus the propagation time, never before', async () => {
    // Two old tasks; the new ones are healthy in discovery from 5 s and 6 s.
    const h = harness((t) =>
      view(2, [
        ['old-1', OLD],
        ...(t >= 5_000 ? [['new-1', NEW] as [string, string]] : []),
        ...(t >= 6_000 ? [['new-2', NEW] as [string, string]] : []),
      ]),
    );
    const stopped = h.stop();
    await vi.advanceTimersByTimeAsync(15_999);
    expect(h.setAt()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(40_000);
    expect(await stopped).toBe(0);
    expect(h.setAt()).toBeGreaterThanOrEqual(16_000);
    expect(h.setAt()).toBeLessThanOrEqual(16_000 + 3_000);
    expect(h.progress().map((l) => l.open)).toContain('replacements');
    expect(h.progress().at(-1)).toMatchObject({
      open: 'propagation',
      replacements: 2,
      required: 2,
      serviceId: 'srv-1',
    });
  });

  it('scale-in: the others are enough already, so the delay is the propagation time (and one read to confirm it)', async () => {
    const h = harness(() =>
      view(2, [
        ['a', NEW],
        ['b', NEW],
      ]),
    );
    const stopped = h.stop();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(h.setAt()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(40_000);
    await stopped;
    expect(h.setAt()).toBeGreaterThanOrEqual(10_000);
    expect(h.setAt()).toBeLessThanOrEqual(10_100);
  });

  it('a replaced task waits for its late replacement', async () => {
    const h = harness((t) => view(2, [['a', NEW], ...(t >= 20_000 ? [['b', NEW] as [string, string]] : [])]), {
      propagationMs: 5_000,
    });
    const stopped = h.stop();
    await vi.advanceTimersByTimeAsync(24_999);
    expect(h.setAt()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(40_000);
    await stopped;
    expect(h.setAt()).toBeGreaterThanOrEqual(25_000);
    expect(h.setAt()).toBeLessThanOrEqual(25_000 + 3_000);
  });

  it('no replacement: the wait runs its 40 s, with a bounded number of reads, and the loop ends with the hook', async () => {
    const h = harness(() => view(2, [['a', NEW]]));
    const stopped = h.stop();
    await vi.advanceTimersByTimeAsync(40_000);
    expect(await stopped).toBe(0);
    expect(h.setAt()).toBeUndefined();
    expect(h.reads.length).toBeGreaterThanOrEqual(40_000 / 2_550);
    expect(h.reads.length).toBeLessThanOrEqual(40_000 / 1_550 + 1);
    const count = h.reads.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.reads.length).toBe(count);
    expect(h.failure()).toBeUndefined();
    // Progress while nothing changes: at least every 5 s, not every read.
    expect(h.progress().length).toBeGreaterThanOrEqual(7);
    expect(h.progress().length).toBeLessThan(count);
  });

  it('a read in flight when the hook ends is the watch ending, not a failure: it returns the last state', async () => {
    const h = harness(() => view(2, [['a', NEW]]), { hangFrom: 5_000 });
    const stopped = h.stop();
    await vi.advanceTimersByTimeAsync(40_000);
    expect(await stopped).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.failure()).toBeUndefined();
    expect(h.result()).toMatchObject({ held: false, state: { replacements: 1, required: 2, open: 'replacements' } });
  });

  it('a failed read ends the loop with its error; the wait runs in full', async () => {
    const h = harness(
      () =>
        view(2, [
          ['a', NEW],
          ['b', NEW],
        ]),
      {
        fail: (t) => (t > 3_000 ? new Error('DiscoverInstances failed: ThrottlingException') : undefined),
      },
    );
    const stopped = h.stop();
    await vi.advanceTimersByTimeAsync(40_000);
    await stopped;
    expect(h.setAt()).toBeUndefined();
    expect(h.failure()).toMatchObject({ message: 'DiscoverInstances failed: ThrottlingException' });
    expect(h.reads.filter((t) => t > 3_000)).toHaveLength(1);
  });
});
