import type { Logger } from 'pino';
import { AbortReason } from './deadline.ts';
import { errorText } from './errors.ts';
import { defaults } from './defaults.ts';

/** How a wait ended: it ran its course, `until` settled first, or its abortSignal fired. */
export type SleepResult = 'elapsed' | 'until' | 'aborted';

export interface SleepOptions {
  /** Names the wait in progress lines (`wait` field), e.g. `drainTimeout`. */
  label?: string;
  /** Ends the wait early when it resolves, e.g. `shared.whenSet(TRAFFIC_STOPPED)`. */
  until?: Promise<unknown>;
}

export type Sleep = (ms: number, options?: SleepOptions) => Promise<SleepResult>;

// setTimeout fires at once for delays above 2^31-1 ms, so longer waits are clamped to that (24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An abortable wait that logs `waiting` with `remainingMs` every few seconds, and says when a timeout or the budget cut it short. */
export function createSleep(logger: Logger, abortSignal: AbortSignal): Sleep {
  const { progressIntervalMs } = defaults;
  return (ms, { label, until } = {}) =>
    new Promise((resolve) => {
      const started = Date.now();
      const fields = label === undefined ? {} : { wait: label };
      let settled = false;
      const finish = (result: SleepResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(progress);
        abortSignal.removeEventListener('abort', onAbort);
        // The end of the hook is how background waits normally end, not a cut.
        if (result === 'aborted' && abortSignal.reason !== AbortReason.hookFinished) {
          const waitedMs = Date.now() - started;
          logger.warn(
            { ...fields, waitedMs, remainingMs: Math.max(0, ms - waitedMs), cause: errorText(abortSignal.reason) },
            'wait cut short',
          );
        }
        resolve(result);
      };
      const onAbort = (): void => finish('aborted');
      const timer = setTimeout(() => finish('elapsed'), Math.min(ms, MAX_TIMER_MS));
      const progress =
        ms > progressIntervalMs
          ? setInterval(
              () => logger.info({ ...fields, remainingMs: Math.max(0, ms - (Date.now() - started)) }, 'waiting'),
              progressIntervalMs,
            )
          : undefined;
      if (abortSignal.aborted) finish('aborted');
      else abortSignal.addEventListener('abort', onAbort, { once: true });
      until?.then(
        () => finish('until'),
        () => undefined,
      );
    });
}
