import type { Logger } from 'pino';
import type { FullTap } from 'tapable';
import { AbortReason, Deadline } from './deadline.ts';
import { defaults } from './defaults.ts';
import { errorText, firstLine } from './errors.ts';
import { createSleep } from './sleep.ts';
import { tapScope } from './stray-errors.ts';
import type { HookContext, SkipDrain, Step, StepOutcome, TapExtras } from './types.ts';

/** What a hook's taps share; runTap adds each tap's own logger, abortSignal, deadline and sleep. */
export type HookBase = Omit<HookContext, 'logger' | 'abortSignal' | 'deadline' | 'sleep'>;

/** A tap as the runner reads it off its tapable hook. */
export type Tap = FullTap & TapExtras;

class Abandoned extends Error {}

/**
 * Runs one tap in isolation: its own logger, abortSignal and timeout, every error caught, so a
 * throwing or hanging plugin never stops the sequence. Its abortSignal fires at the earliest of
 * its own timeout and `bound` (the hook's deadline and, in the stop hooks, the schedule's point
 * for this tap); `bound` also fires when the hook is over, for work the tap left running. Never
 * rejects: resolves with the tap's step and, for a beforeDrain tap, its request to skip the drain.
 */
export async function runTap(
  tap: Tap,
  base: HookBase,
  hookLogger: Logger,
  bound: Deadline,
): Promise<{ step: Step; skip: SkipDrain | undefined }> {
  const started = Date.now();
  const timeoutMs = tap.timeout ?? defaults.tapTimeoutMs;
  const own = Deadline.after(timeoutMs, AbortReason.tapTimeout, started);
  const deadline = own.earliest(bound);
  const { signal } = deadline;
  const logger = hookLogger.child({ plugin: tap.name, hook: base.hook });
  const ctx: HookContext = {
    ...base,
    logger,
    abortSignal: signal,
    deadline: deadline.at,
    sleep: createSleep(logger, signal),
  };

  const abandon = abandonAfterAbort(signal);
  let ending: Omit<TapEnding, 'aborted' | 'reason' | 'drainAction' | 'timeoutMs'>;
  let skip: SkipDrain | undefined;
  try {
    // The tap runs in its own async scope, so an error it leaves unhandled can be laid at its door.
    const result = await Promise.race([
      tapScope.run({ plugin: tap.name, hook: base.hook }, () => invoke(tap, ctx)),
      abandon.promise,
    ]);
    ending = { ended: 'returned' };
    skip = isSkip(result) ? { skip: result.skip } : undefined;
  } catch (error) {
    ending = error instanceof Abandoned ? { ended: 'abandoned' } : { ended: 'threw', error };
  } finally {
    abandon.cancel();
    // Only the tap's own timer: `bound` still fires when its hook is over, which stops work the
    // tap left running in the background (such as a traffic watcher).
    own.cancel();
  }
  const { outcome, error } = tapOutcome({
    ...ending,
    aborted: signal.aborted,
    reason: signal.reason,
    drainAction: tap.drainAction === true,
    timeoutMs,
  });
  const step: Step = {
    plugin: tap.name,
    hook: base.hook,
    ms: Date.now() - started,
    outcome,
    ...(error === undefined ? {} : { error }),
  };
  if (outcome === 'failed') logger.error({ ms: step.ms, error }, 'step failed');
  else if (outcome === 'timeout') logger.error({ ms: step.ms, error }, 'step timed out');
  else if (error !== undefined) logger.warn({ ms: step.ms, outcome, error }, 'step finished');
  else logger.info({ ms: step.ms, outcome }, 'step finished');
  return { step, skip };
}

/** How a tap's run ended, as runTap saw it. */
export interface TapEnding {
  /** `abandoned`: it ignored its fired abortSignal past `abandonGraceMs`, and was left behind. */
  ended: 'returned' | 'threw' | 'abandoned';
  /** What it threw or rejected with. */
  error?: unknown;
  /** Whether its abortSignal had fired when it ended, and why. */
  aborted: boolean;
  reason?: unknown;
  drainAction: boolean;
  timeoutMs: number;
}

/** The reasons the stop budget cuts a tap for: what the tap then does (return or reject) does not change the outcome. */
const BUDGET = new Set<unknown>([AbortReason.stopBudget, AbortReason.drainActionDue]);

/**
 * What happened → the step's outcome and error (the table in docs/architecture.md, "Isolation of
 * taps"). Cut by the budget (or the drain's action being due) is one outcome, whether the tap then
 * returns or rejects; only the drain's action being cut is a failure: the fail may not have gone out.
 */
export function tapOutcome({ ended, error, aborted, reason, drainAction, timeoutMs }: TapEnding): {
  outcome: StepOutcome;
  error?: string;
} {
  const timedOut = { outcome: 'timeout', error: `did not finish within its ${timeoutMs} ms timeout` } as const;
  const cut = (text?: string) =>
    drainAction
      ? ({ outcome: 'failed', error: text ?? `aborted: ${errorText(reason)}` } as const)
      : ({ outcome: 'cut', ...(text === undefined ? {} : { error: text }) } as const);
  if (ended === 'returned') {
    if (!aborted) return { outcome: 'ok' };
    return reason === AbortReason.tapTimeout ? timedOut : cut();
  }
  // A tap that honours its abortSignal usually rejects with an AbortError: report why it was stopped.
  if (aborted && reason === AbortReason.tapTimeout) return timedOut;
  // A stop signal during onStart starts the drain; the step it interrupts did not fail.
  if (aborted && reason === AbortReason.stopSignal) return { outcome: 'cut' };
  if (ended === 'abandoned') return { outcome: 'timeout', error: `did not stop when asked (${errorText(reason)})` };
  const text =
    aborted && (error === reason || (error instanceof Error && error.name === 'AbortError'))
      ? `aborted: ${errorText(reason)}`
      : firstLine(error);
  return aborted && BUDGET.has(reason) ? cut(text) : { outcome: 'failed', error: text };
}

function invoke(tap: FullTap, ctx: HookContext): Promise<unknown> {
  if (tap.type === 'async') {
    return new Promise((resolve, reject) => {
      tap.fn(ctx, (error: unknown, result: unknown) => (error ? reject(error) : resolve(result)));
    });
  }
  // A sync tap's throw, or a promise tap that forgot to return a promise, still lands in the catch.
  return Promise.resolve().then(() => tap.fn(ctx));
}

/** Rejects a short grace after the signal fires, so a tap that ignores its abortSignal is left behind. */
function abandonAfterAbort(signal: AbortSignal): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => undefined;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => void (timer = setTimeout(() => reject(new Abandoned()), defaults.abandonGraceMs));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

function isSkip(value: unknown): value is SkipDrain {
  return typeof value === 'object' && value !== null && typeof (value as SkipDrain).skip === 'string';
}
