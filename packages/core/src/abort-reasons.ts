/**
 * Why an abortSignal fired: an Error (what fetch, ky and node:net reject with once a signal fires)
 * whose message says why and whose `code` is stable, so a cut request reads "aborted: stop budget".
 */
export class AbortReasonError extends Error {
  override readonly name = 'AbortError';
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/** Each reason is one shared instance: compare with `===` or by `code`. */
export const AbortReason = Object.freeze({
  /** The stop budget ran out: waits end so afterDrain (and the exit) still happen before SIGKILL. */
  stopBudget: new AbortReasonError('stop budget', 'STOP_BUDGET'),
  /** The stop schedule says the drain's action must start now: what runs before it is cut. */
  drainActionDue: new AbortReasonError('drain action due', 'DRAIN_ACTION_DUE'),
  /** The tap ran past its own `timeout`. */
  tapTimeout: new AbortReasonError('tap timeout', 'TAP_TIMEOUT'),
  /** onStart ran past START_TIMEOUT: the helper carries on without it. */
  startTimeout: new AbortReasonError('start timeout', 'START_TIMEOUT'),
  /** `task-helper health` ran out of its time. */
  healthTimeout: new AbortReasonError('health timeout', 'HEALTH_TIMEOUT'),
  /** A stop signal arrived during onStart. */
  stopSignal: new AbortReasonError('stop signal', 'STOP_SIGNAL'),
  /** The tap's hook is over; only work the tap left running in the background still sees this. */
  hookFinished: new AbortReasonError('hook finished', 'HOOK_FINISHED'),
});

/** A signal's reason in a few words, whoever aborted it. */
export function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
