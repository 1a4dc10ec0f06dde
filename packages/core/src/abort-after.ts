/**
 * An AbortSignal that fires after `ms` with `reason`. Unlike AbortSignal.timeout it runs on
 * setTimeout, so fake timers drive it in tests, and it can be cancelled.
 */
export function abortAfter(ms: number, reason: Error): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason), ms);
  return { signal: controller.signal, cancel: () => clearTimeout(timer) };
}
