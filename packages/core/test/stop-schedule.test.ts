import { describe, expect, it } from 'vitest';
import { defaults, minStopTimeoutMs, stopSchedule } from '@task-helper/core/host';

const s = (stopTimeout: number, drainDelay: number, drainTimeout: number) =>
  stopSchedule({ stopTimeoutMs: stopTimeout * 1000, delayMs: drainDelay * 1000, drainWaitMs: drainTimeout * 1000 });

describe("stopSchedule: the budget cuts waits, never the drain's action", () => {
  it.each([
    // stopTimeout, DRAIN_DELAY, DRAIN_TIMEOUT → delay as run, action due, drain wait as run, waits end, exit
    [
      120,
      40,
      40,
      { delayMs: 40_000, actionDueMs: 75_000, drainWaitMs: 40_000, abortAtMs: 115_000, exitAtMs: 119_750, cut: false },
    ],
    [
      30,
      40,
      40,
      { delayMs: 12_500, actionDueMs: 12_500, drainWaitMs: 12_500, abortAtMs: 25_000, exitAtMs: 29_750, cut: true },
    ],
    [
      10,
      40,
      40,
      { delayMs: 4_000, actionDueMs: 4_000, drainWaitMs: 4_000, abortAtMs: 8_000, exitAtMs: 9_750, cut: true },
    ],
    [60, 20, 50, { delayMs: 20_000, actionDueMs: 27_500, drainWaitMs: 35_000, abortAtMs: 55_000, cut: true }],
    // A short DRAIN_TIMEOUT leaves DRAIN_DELAY the rest, but the action keeps 2 s for a slow Envoy.
    [10, 40, 1, { delayMs: 6_000, actionDueMs: 6_000, drainWaitMs: 1_000, abortAtMs: 8_000, cut: true }],
    [10, 40, 0, { delayMs: 6_000, actionDueMs: 6_000, drainWaitMs: 0, cut: true }],
    // A tiny budget: the drain still keeps half of what is left.
    [1, 40, 40, { delayMs: 400, actionDueMs: 400, drainWaitMs: 400, abortAtMs: 800, cut: true }],
    [10, 0, 0, { delayMs: 0, actionDueMs: 6_000, drainWaitMs: 0, cut: false }],
  ])('STOP_TIMEOUT %d, DRAIN_DELAY %d, DRAIN_TIMEOUT %d', (stopTimeout, drainDelay, drainTimeout, expected) => {
    expect(s(stopTimeout, drainDelay, drainTimeout)).toMatchObject(expected);
  });

  it('cuts DRAIN_DELAY first, and the drain keeps min(DRAIN_TIMEOUT, half of the time before the waits end)', () => {
    for (let stopTimeout = 1; stopTimeout <= 120; stopTimeout += 1) {
      for (const [drainDelay, drainTimeout] of [
        [40, 40],
        [0, 40],
        [40, 0],
        [5, 100],
        [100, 5],
      ] as const) {
        const schedule = s(stopTimeout, drainDelay, drainTimeout);
        const label = `${stopTimeout} ${drainDelay} ${drainTimeout}`;
        expect(schedule.delayMs, label).toBeLessThanOrEqual(schedule.actionDueMs);
        expect(schedule.abortAtMs - schedule.actionDueMs, label).toBeGreaterThan(0);
        expect(schedule.drainWaitMs, label).toBeGreaterThanOrEqual(
          Math.min(drainTimeout * 1000, schedule.abortAtMs / 2),
        );
        expect(schedule.delayMs + schedule.drainWaitMs, label).toBeLessThanOrEqual(schedule.abortAtMs);
        // DRAIN_DELAY is cut only as far as the drain's share needs.
        expect(schedule.delayMs === drainDelay * 1000 || schedule.delayMs === schedule.actionDueMs, label).toBe(true);
      }
    }
  });
});

describe('minStopTimeoutMs: the shortest budget that keeps the action its time', () => {
  const actionKeeps = (stopTimeoutMs: number) => {
    const { abortAtMs, actionDueMs } = stopSchedule({ stopTimeoutMs, delayMs: 40_000, drainWaitMs: 0 });
    return abortAtMs - actionDueMs;
  };

  it('is 5 s with the defaults: the action keeps its full drainActionMs there, and less below it', () => {
    expect(minStopTimeoutMs).toBe(5_000);
    expect(actionKeeps(minStopTimeoutMs)).toBe(defaults.drainActionMs);
    expect(actionKeeps(minStopTimeoutMs - 100)).toBeLessThan(defaults.drainActionMs);
  });
});
