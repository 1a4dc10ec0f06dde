import { describe, expect, it } from 'vitest';
import { defaults, heldContainerKillMs, minStopTimeoutMs, stopBudgetMs, stopSchedule } from '@task-helper/core/host';

// The kubelet's rules (pkg/kubelet/kuberuntime, 1.37): the preStop hook's time counts against the
// pod's grace period in whole seconds rounded down; the container it held, and each native sidecar
// after the app, gets what is left, at least 2 s.
const schedule = (budgetMs: number, delayS: number, drainS: number) =>
  stopSchedule({ stopTimeoutMs: budgetMs, delayMs: delayS * 1000, drainWaitMs: drainS * 1000 });

describe('stopBudgetMs: the stop budget on Kubernetes and elsewhere', () => {
  it('is STOP_TIMEOUT outside Kubernetes, whatever the trigger', () => {
    expect(stopBudgetMs(30, 'SIGTERM', false)).toBe(30_000);
    expect(stopBudgetMs(30, 'preStop', false)).toBe(30_000);
  });

  it("a preStop call's budget ends 2 s before the grace period, which the held container keeps", () => {
    expect(stopBudgetMs(30, 'preStop', true)).toBe(28_000);
    expect(stopBudgetMs(7, 'preStop', true)).toBe(5_000);
  });

  it('a stop signal with no preStop call first gets the 2 s the kubelet promises a native sidecar, whatever the grace period', () => {
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) {
      expect(stopBudgetMs(30, signal, true)).toBe(defaults.kubeletMinGraceMs);
      expect(stopBudgetMs(3600, signal, true)).toBe(2_000);
    }
  });
});

describe('heldContainerKillMs: the kubelet rounds the hook down and gives at least 2 s', () => {
  it.each([
    // grace, hook answered at → SIGKILL at the latest
    [30, 27_750, 30_750], // 27 s counted, 3 s left
    [30, 10_000, 30_000], // whole seconds: exactly the grace period
    [30, 29_999, 31_999], // 29 s counted, 1 s left → 2 s
    [30, 45_000, 47_000], // a hook past the grace period: the kubelet stopped waiting at 30 s; 2 s
    [7, 4_750, 7_750],
  ])('grace %d s, hook answered at %d ms: SIGKILL by %d ms', (grace, hookMs, killMs) => {
    expect(heldContainerKillMs(grace, hookMs)).toBe(killMs);
  });
});

describe('the preStop schedule keeps the promise: the fail before the answer, the answer before the grace period ends', () => {
  it('for every grace period from the least accepted to 120 s, with the default waits and with none', () => {
    const least = (minStopTimeoutMs + defaults.kubeletMinGraceMs) / 1000;
    expect(least).toBe(7);
    for (let grace = least; grace <= 120; grace += 1) {
      for (const [delayS, drainS] of [
        [40, 40],
        [5, 15],
        [0, 0],
      ] as const) {
        const s = schedule(stopBudgetMs(grace, 'preStop', true), delayS, drainS);
        // The fail is due with the drain's action time to spare before the waits end…
        expect(s.abortAtMs - s.actionDueMs).toBeGreaterThanOrEqual(defaults.drainActionMs);
        // …and the hook is answered in time for the held container's 2 s inside the grace period.
        expect(s.exitAtMs).toBeLessThanOrEqual(grace * 1000 - defaults.kubeletMinGraceMs);
        expect(heldContainerKillMs(grace, s.exitAtMs)).toBeLessThanOrEqual(grace * 1000 + 1_000);
      }
    }
  });

  it("the example manifests' numbers: grace 30, DRAIN_DELAY 5, DRAIN_TIMEOUT 15 fit, answered by 27.75 s", () => {
    expect(schedule(stopBudgetMs(30, 'preStop', true), 5, 15)).toMatchObject({
      delayMs: 5_000,
      drainWaitMs: 15_000,
      abortAtMs: 23_000,
      exitAtMs: 27_750,
      cut: false,
    });
  });

  it('a grace period too short for the waits cuts DRAIN_DELAY first and still fails Envoy with time for callers', () => {
    expect(schedule(stopBudgetMs(10, 'preStop', true), 40, 40)).toMatchObject({
      delayMs: 3_200,
      actionDueMs: 3_200,
      drainWaitMs: 3_200,
      abortAtMs: 6_400,
      exitAtMs: 7_750,
      cut: true,
    });
  });

  it("a sidecar's signal-first stop fails Envoy within its 2 s and exits before them", () => {
    expect(schedule(stopBudgetMs(30, 'SIGTERM', true), 5, 15)).toMatchObject({
      actionDueMs: 800,
      abortAtMs: 1_600,
      exitAtMs: 1_800,
    });
  });
});
