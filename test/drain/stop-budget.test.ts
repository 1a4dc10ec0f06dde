import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { drainOnce, startTask, type SimTask } from '../support/task.ts';

/**
 * Whatever the stop budget and the other plugins do, POST /healthcheck/fail goes out when the stop
 * schedule says, with time for callers to notice, and the helper exits before SIGKILL. The
 * schedule's arithmetic for every budget is pinned in packages/core/test/stop-schedule.test.ts;
 * here the real CLI shows it on the smallest budget that keeps those edges a second apart:
 * STOP_TIMEOUT=5 with the default 40 s + 40 s waits leaves the drain 2 s, due 2 s after SIGTERM,
 * and the waits end at 4 s. Timers never fire early, so lower bounds are exact; upper bounds allow
 * a busy machine a second.
 */
const SLACK_MS = 1_000;
const STOP_TIMEOUT = '5';
const DUE_MS = 2_000;
const DRAIN_WAIT_MS = 2_000;
const MISBEHAVE_CONFIG = path.resolve(import.meta.dirname, 'fixtures/misbehave.config.ts');

let task: SimTask;
afterEach(() => task?.close());

describe("the stop budget cuts waits, never the drain's action", () => {
  it('STOP_TIMEOUT too small for the default waits: a warning at start, DRAIN_DELAY cut, the fail goes out when due, callers get the rest, exit before SIGKILL', async () => {
    task = await startTask();
    const { code, failAfterMs, exitAt, sigtermAt, helper } = await drainOnce(task, { STOP_TIMEOUT });
    expect(code).toBe(0);
    // The start-up warning names the schedule that runs.
    expect(helper.lines.find((l) => l.level === 'warn' && l.plugin === 'delay')?.msg).toContain(
      `DRAIN_DELAY will be cut to ${DUE_MS / 1000} s and DRAIN_TIMEOUT to ${DRAIN_WAIT_MS / 1000} s`,
    );
    expect(helper.lines.find((l) => l.msg === 'wait cut short' && l.wait === 'drainDelay')).toMatchObject({
      cause: 'drain action due',
    });
    expect(failAfterMs).toBeGreaterThanOrEqual(DUE_MS);
    expect(failAfterMs).toBeLessThan(DUE_MS + SLACK_MS);
    expect(exitAt - sigtermAt - failAfterMs!).toBeGreaterThanOrEqual(DRAIN_WAIT_MS - SLACK_MS);
    expect(exitAt - sigtermAt).toBeLessThan(Number(STOP_TIMEOUT) * 1000);
  });
});

describe('a plugin cannot use up the budget before the drain', () => {
  it.each(['beforeDrain:hang', 'beforeDrain:hang-forever', 'drain:hang-forever'])(
    "%s: the hang is cut when the drain's action is due, and the fail goes out",
    async (misbehave) => {
      task = await startTask();
      const { code, failAfterMs, exitAt, sigtermAt, steps } = await drainOnce(
        task,
        { STOP_TIMEOUT, MISBEHAVE: misbehave },
        ['--config', MISBEHAVE_CONFIG],
      );
      expect(failAfterMs).toBeGreaterThanOrEqual(DUE_MS);
      expect(failAfterMs).toBeLessThan(DUE_MS + SLACK_MS);
      expect(steps).toContainEqual(expect.objectContaining({ plugin: 'envoy', hook: 'drain', outcome: 'ok' }));
      expect(steps).toContainEqual(
        expect.objectContaining({
          plugin: 'misbehave',
          outcome: 'timeout',
          error: 'did not stop when asked (drain action due)',
        }),
      );
      expect(code).toBe(1);
      expect(exitAt - sigtermAt).toBeLessThan(Number(STOP_TIMEOUT) * 1000);
    },
  );
});
