import { defaults } from './defaults.ts';
import type { Hooks, StopHookName, TapExtras } from './types.ts';

/** The waits the stop sequence plans, in milliseconds: before the drain's action (DRAIN_DELAY) and after it (DRAIN_TIMEOUT). */
export interface PlannedWaits {
  /** The stop budget (`stopBudgetMs`): STOP_TIMEOUT, less on Kubernetes. */
  stopTimeoutMs: number;
  delayMs: number;
  drainWaitMs: number;
}

/** When each part of the stop sequence happens, in milliseconds from the stop signal, once the budget has cut what does not fit. */
export interface StopSchedule {
  stopTimeoutMs: number;
  /** beforeDrain and drain waits end here, leaving afterDrain its margin. */
  abortAtMs: number;
  /** The helper exits here, whatever afterDrain is still doing. */
  exitAtMs: number;
  /** The drain's action starts by here: what runs before it (beforeDrain, earlier drain taps) is cut at this point. */
  actionDueMs: number;
  /** The wait before the drain's action, as it will run. */
  delayMs: number;
  /** The wait after the drain's action, as it will run (the action itself taking no time). */
  drainWaitMs: number;
  /** A wait is shorter than planned. */
  cut: boolean;
}

/**
 * The one rule for fitting the waits into the stop budget: the budget cuts waits, never the
 * drain's action. Waits end `afterDrainMargin` before SIGKILL (5 s, or a fifth of a budget under
 * 25 s). Of what is left, the drain keeps min(DRAIN_TIMEOUT, half) (but at least
 * min(drainActionMs, half), for a slow Envoy to take the POST); DRAIN_DELAY is cut first, to
 * what remains, so the fail always goes out with time for callers to notice it.
 */
export function stopSchedule({ stopTimeoutMs, delayMs, drainWaitMs }: PlannedWaits): StopSchedule {
  const margin = Math.min(defaults.afterDrainMarginMs, stopTimeoutMs / 5);
  const abortAtMs = stopTimeoutMs - margin;
  const drainKeeps = Math.min(abortAtMs * defaults.drainShare, Math.max(drainWaitMs, defaults.drainActionMs));
  const actionDueMs = abortAtMs - drainKeeps;
  const delay = Math.min(delayMs, actionDueMs);
  const drainWait = Math.min(drainWaitMs, abortAtMs - delay);
  return {
    stopTimeoutMs,
    abortAtMs,
    exitAtMs: stopTimeoutMs - Math.min(defaults.exitReserveMs, margin / 2),
    actionDueMs,
    delayMs: delay,
    drainWaitMs: drainWait,
    cut: delay < delayMs || drainWait < drainWaitMs,
  };
}

/**
 * The shortest stop budget the schedule can keep its promise in: the one whose drain keeps
 * `drainActionMs` for the action (the drain keeps `drainShare` of the time before `abortAt`, and
 * `abortAt` leaves a fifth of a budget under 25 s as margin). Anything shorter would cut
 * `/healthcheck/fail` itself, so STOP_TIMEOUT refuses it (core-settings.ts) and `plan` shows it.
 */
export const minStopTimeoutMs = ((): number => {
  const beforeAbort = defaults.drainActionMs / defaults.drainShare;
  // The margin is a fifth of the budget up to 5 s × 5, then 5 s.
  const withFifth = beforeAbort / (1 - 1 / 5);
  return withFifth <= 5 * defaults.afterDrainMarginMs ? withFifth : beforeAbort + defaults.afterDrainMarginMs;
})();

/** What starts the stop: an OS signal, or the kubelet's preStop call to the helper (`GET /prestop`). */
export type StopTrigger = NodeJS.Signals | 'preStop';

/**
 * The stop budget, in milliseconds from the trigger, that `stopSchedule` splits. Outside
 * Kubernetes it is STOP_TIMEOUT. On Kubernetes (the preStop endpoint configured) STOP_TIMEOUT is
 * the pod's `terminationGracePeriodSeconds`, which the kubelet spends in order: the preStop hook
 * (the helper's whole drain, until it answers), then the held container's SIGTERM with what is
 * left but at least 2 s (`kubeletMinGraceMs`), then the native sidecars', each with what is left
 * but at least 2 s. So a stop the preStop call starts answers 2 s before the grace period ends,
 * leaving the held container its 2 s inside it; and a stop signal with no preStop call before it
 * is a native sidecar's, after the app has exited, with only the 2 s the kubelet promises.
 */
export function stopBudgetMs(stopTimeoutS: number, trigger: StopTrigger, onKubernetes: boolean): number {
  if (!onKubernetes) return stopTimeoutS * 1000;
  return trigger === 'preStop' ? stopTimeoutS * 1000 - defaults.kubeletMinGraceMs : defaults.kubeletMinGraceMs;
}

/**
 * Kubernetes: when the kubelet SIGKILLs the container a preStop hook held, at the latest, in
 * milliseconds from the hook's start, for a hook answered at `hookMs`: the kubelet subtracts the
 * hook's time in whole seconds, rounded down, from the grace period, and gives the container what
 * is left, at least 2 s. So a hook answered 2.25 s before the end leaves 3 s, not 2.25.
 */
export function heldContainerKillMs(gracePeriodS: number, hookMs: number): number {
  const leftS = Math.max(gracePeriodS - Math.floor(hookMs / 1000), defaults.kubeletMinGraceMs / 1000);
  return hookMs + leftS * 1000;
}

/** The waits the taps declare (`plan.ms`): beforeDrain's add up to the delay, drain's to the drain wait. */
export function plannedWaits(hooks: Hooks, budgetMs: number): PlannedWaits {
  const total = (taps: readonly object[]): number =>
    taps.reduce((sum, tap) => sum + ((tap as TapExtras).plan?.ms ?? 0), 0);
  return {
    stopTimeoutMs: budgetMs,
    delayMs: total(hooks.beforeDrain.taps),
    drainWaitMs: total(hooks.drain.taps),
  };
}

/** A point of the schedule: when a stop hook's tap must end at the latest. */
export type SchedulePoint = 'actionDueMs' | 'abortAtMs' | 'exitAtMs';

/**
 * The one tap deadline rule, which the runner runs and `plan` draws: beforeDrain taps, and drain
 * taps before the drain's action, end when the action is due, whatever their own timeout, so no
 * plugin spends the action's time; the action and the drain taps after it end at abortAt; afterDrain's
 * at exitAt. `taps` are the hook's, in the order they run; the answer is each one's point.
 */
export function tapDeadlines(hook: StopHookName, taps: readonly TapExtras[]): SchedulePoint[] {
  const action = hook === 'drain' ? taps.findIndex((tap) => tap.drainAction) : -1;
  return taps.map((_, index): SchedulePoint => {
    if (hook === 'afterDrain') return 'exitAtMs';
    return hook === 'beforeDrain' || index < action ? 'actionDueMs' : 'abortAtMs';
  });
}
