import { abortAfter } from './abort-after.ts';
import { AbortReason } from './abort-reasons.ts';
import { defaults } from './defaults.ts';

/**
 * The time ECS allows between SIGTERM and SIGKILL, split into when waits must end (`abortAt`,
 * leaving afterDrain its margin) and when the helper must exit (`exitAt`, just before SIGKILL).
 */
export interface StopBudget {
  readonly killAt: number;
  readonly abortAt: number;
  readonly exitAt: number;
  /** Fires at `abortAt`: beforeDrain and drain stop waiting. */
  readonly drainSignal: AbortSignal;
  /** Fires at `exitAt`: whatever afterDrain is still doing is abandoned. */
  readonly exitSignal: AbortSignal;
  dispose(): void;
}

export function afterDrainMarginMs(stopTimeoutS: number): number {
  return Math.min(defaults.afterDrainMarginMs, (stopTimeoutS * 1000) / 5);
}

export function startBudget(stopTimeoutS: number, now: number = Date.now()): StopBudget {
  const killAt = now + stopTimeoutS * 1000;
  const margin = afterDrainMarginMs(stopTimeoutS);
  const abortAt = killAt - margin;
  const exitAt = killAt - Math.min(defaults.exitReserveMs, margin / 2);
  const drain = abortAfter(abortAt - now, AbortReason.stopBudget);
  const exit = abortAfter(exitAt - now, AbortReason.stopBudget);
  return {
    killAt,
    abortAt,
    exitAt,
    drainSignal: drain.signal,
    exitSignal: exit.signal,
    dispose: () => {
      drain.cancel();
      exit.cancel();
    },
  };
}
