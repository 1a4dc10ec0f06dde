/** Why a tap's abortSignal fired; `String(signal.reason)` is one of these. */
export const AbortReason = Object.freeze({
  /** The stop budget ran out: waits end so afterDrain (and the exit) still happen before SIGKILL. */
  stopBudget: 'stop budget',
  /** The tap ran past its own `timeout`. */
  tapTimeout: 'tap timeout',
  /** onStart ran past START_TIMEOUT: the helper carries on without it. */
  startTimeout: 'start timeout',
  /** `task-helper health` ran out of its time. */
  healthTimeout: 'health timeout',
  /** A stop signal arrived during onStart. */
  stopSignal: 'stop signal',
  /** The tap's hook is over; only work the tap left running in the background still sees this. */
  hookFinished: 'hook finished',
});
