import type { FullTap } from 'tapable';
import { AbortReason, reasonText } from './abort-reasons.ts';
import { defaults } from './defaults.ts';
import { firstLine } from './errors.ts';
import { createSleep } from './sleep.ts';
import { tapScope } from './stray-errors.ts';
import type { HookContext, SkipDrain, Step, TapExtras } from './types.ts';

class Abandoned extends Error {}

/** The reasons the stop budget cuts a tap for: what the tap then does (return or reject) does not change the outcome. */
const BUDGET = new Set<unknown>([AbortReason.stopBudget, AbortReason.drainActionDue]);

/** A point beyond the hook's own limit at which this tap must stop. */
export interface TapLimit {
  signal: AbortSignal;
  at: number;
}

/**
 * Runs one tap in isolation: its own logger, abortSignal and timeout, every error caught and
 * recorded, so a throwing or hanging plugin never stops the sequence. tapable's series hooks
 * would otherwise stop at the first rejection.
 */
export async function runTap(
  tap: FullTap & TapExtras,
  phase: HookContext,
  record: (step: Step) => void,
  limit?: TapLimit,
): Promise<SkipDrain | undefined> {
  const started = Date.now();
  const timeoutMs = tap.timeout ?? defaults.tapTimeoutMs;
  const controller = new AbortController();
  const timer = Number.isFinite(timeoutMs)
    ? setTimeout(() => controller.abort(AbortReason.tapTimeout), timeoutMs)
    : undefined;
  for (const outer of limit ? [phase.abortSignal, limit.signal] : [phase.abortSignal]) {
    if (outer.aborted) controller.abort(outer.reason);
    else outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
  }

  const logger = phase.logger.child({ plugin: tap.name, hook: phase.hook });
  const ctx: HookContext = {
    ...phase,
    logger,
    abortSignal: controller.signal,
    deadline: Math.min(phase.deadline, started + timeoutMs, limit?.at ?? Infinity),
    sleep: createSleep(logger, controller.signal),
  };
  const finish = (outcome: Step['outcome'], error?: string): void => {
    const step: Step = {
      plugin: tap.name,
      hook: phase.hook,
      ms: Date.now() - started,
      outcome,
      ...(error === undefined ? {} : { error }),
    };
    record(step);
    if (outcome === 'failed') logger.error({ ms: step.ms, error }, 'step failed');
    else if (outcome === 'timeout') logger.error({ ms: step.ms, error }, 'step timed out');
    else if (error !== undefined) logger.warn({ ms: step.ms, outcome, error }, 'step finished');
    else logger.info({ ms: step.ms, outcome }, 'step finished');
  };
  // Cut by the budget (or the drain's action being due) is one outcome, whether the tap then
  // returns or rejects; only the drain's action being cut is a failure: the fail may not have gone out.
  const cut = (error?: string): void =>
    tap.drainAction
      ? finish('failed', error ?? `aborted: ${reasonText(controller.signal.reason)}`)
      : finish('cut', error);

  const abandon = abandonAfterAbort(controller.signal);
  try {
    // The tap runs in its own async scope, so an error it leaves unhandled can be laid at its door.
    const result = await Promise.race([
      tapScope.run({ plugin: tap.name, hook: phase.hook }, () => invoke(tap, ctx)),
      abandon.promise,
    ]);
    if (!controller.signal.aborted) finish('ok');
    else if (controller.signal.reason === AbortReason.tapTimeout)
      finish('timeout', `did not finish within its ${timeoutMs} ms timeout`);
    else cut();
    return isSkip(result) ? { skip: result.skip } : undefined;
  } catch (error) {
    const { aborted, reason } = controller.signal;
    // A tap that honours its abortSignal usually rejects with an AbortError: report why it was stopped.
    if (aborted && reason === AbortReason.tapTimeout)
      finish('timeout', `did not finish within its ${timeoutMs} ms timeout`);
    // A stop signal during onStart starts the drain; the step it interrupts did not fail.
    else if (aborted && reason === AbortReason.stopSignal) finish('cut');
    else if (error instanceof Abandoned) finish('timeout', `did not stop when asked (${reasonText(reason)})`);
    else {
      const text =
        aborted && (error === reason || (error instanceof Error && error.name === 'AbortError'))
          ? `aborted: ${reasonText(reason)}`
          : firstLine(error);
      if (aborted && BUDGET.has(reason)) cut(text);
      else finish('failed', text);
    }
    return undefined;
  } finally {
    abandon.cancel();
    clearTimeout(timer);
    // The phase listener stays: the tap's abortSignal also fires when its hook is over, which
    // stops work the tap left running in the background (such as a traffic watcher).
  }
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
