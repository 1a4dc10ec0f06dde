import { abortAfter } from './abort-after.ts';
import { AbortReason } from './abort-reasons.ts';
import type { StopSchedule } from './stop-schedule.ts';

/** A stop schedule turned into signals, counted from the stop signal at `now`. */
export interface StopBudget {
  readonly abortAt: number;
  readonly exitAt: number;
  /** Fires at the schedule's `actionDueMs`: what runs before the drain's action stops. */
  readonly actionDueSignal: AbortSignal;
  readonly actionDueAt: number;
  /** Fires at `abortAt`: beforeDrain and drain stop waiting. */
  readonly drainSignal: AbortSignal;
  /** Fires at `exitAt`: whatever afterDrain is still doing is abandoned. */
  readonly exitSignal: AbortSignal;
  dispose(): void;
}

export function startBudget(schedule: StopSchedule, now: number = Date.now()): StopBudget {
  const actionDue = abortAfter(schedule.actionDueMs, AbortReason.drainActionDue);
  const drain = abortAfter(schedule.abortAtMs, AbortReason.stopBudget);
  const exit = abortAfter(schedule.exitAtMs, AbortReason.stopBudget);
  return {
    abortAt: now + schedule.abortAtMs,
    exitAt: now + schedule.exitAtMs,
    actionDueAt: now + schedule.actionDueMs,
    actionDueSignal: actionDue.signal,
    drainSignal: drain.signal,
    exitSignal: exit.signal,
    dispose: () => {
      actionDue.cancel();
      drain.cancel();
      exit.cancel();
    },
  };
}
