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

/**
 * An instant and the AbortSignal that fires at it, with the reason why: the stop budget's points,
 * a tap's own timeout, START_TIMEOUT. It may also fire earlier when it was made from an abort
 * (`Deadline.of`: a stop signal during onStart, the end of a hook), whose instant is Infinity.
 * Its timer is setTimeout, unlike AbortSignal.timeout, so fake timers drive it in tests.
 */
export class Deadline {
  /** Epoch ms at which `signal` fires at the latest; Infinity when no instant bounds it. */
  readonly at: number;
  readonly signal: AbortSignal;
  readonly #timer: NodeJS.Timeout | undefined;

  private constructor(at: number, signal: AbortSignal, timer?: NodeJS.Timeout) {
    this.at = at;
    this.signal = signal;
    this.#timer = timer;
  }

  /** Fires at epoch ms `at` with `reason`; never when `at` is Infinity. */
  static at(at: number, reason: Error, now: number = Date.now()): Deadline {
    const controller = new AbortController();
    const timer = Number.isFinite(at) ? setTimeout(() => controller.abort(reason), at - now) : undefined;
    return new Deadline(at, controller.signal, timer);
  }

  static after(ms: number, reason: Error, now: number = Date.now()): Deadline {
    return Deadline.at(now + ms, reason, now);
  }

  /** No instant: fires when `signal` does. */
  static of(signal: AbortSignal): Deadline {
    return new Deadline(Infinity, signal);
  }

  /** The earliest of this and `others`: fires with the reason of whichever fires first. */
  earliest(...others: ReadonlyArray<Deadline | undefined>): Deadline {
    const all = [this, ...others.filter((d) => d !== undefined)];
    if (all.length === 1) return this;
    return new Deadline(Math.min(...all.map((d) => d.at)), AbortSignal.any(all.map((d) => d.signal)));
  }

  /** Stops its own timer (not those of the deadlines it was made from): nothing then fires it. */
  cancel(): void {
    clearTimeout(this.#timer);
  }
}
