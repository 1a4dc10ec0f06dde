/**
 * Calls `attempt` every `intervalMs` until it returns a value, for the support code that also runs
 * outside vitest (bench/, examples/demo), where vi.waitFor cannot; tests themselves use vi.waitFor
 * and expect.poll. An attempt that throws or returns undefined is retried; `stopped()` ends the wait
 * at once with its reason (the process being waited for has exited, say). The error names `what`
 * and the last attempt's error.
 */
export async function pollUntil<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  {
    timeoutMs,
    intervalMs,
    stopped = () => undefined,
  }: { timeoutMs: number; intervalMs: number; stopped?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const stop = stopped();
    if (stop) throw new Error(`${what}: ${stop}; last: ${last}`);
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
