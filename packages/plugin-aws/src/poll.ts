import type { HookContext } from '@task-helper/core';
import { awsDefaults } from './aws-settings.ts';

/**
 * Asks `check` every `pollMs` until it returns a result, within the tap's abortSignal; throws
 * `stillWaiting()`'s description when the signal fires first.
 */
export async function pollUntil<T>(
  ctx: HookContext,
  check: () => Promise<T | undefined>,
  stillWaiting: () => string,
): Promise<T> {
  for (;;) {
    const done = await check();
    if (done !== undefined) return done;
    if ((await ctx.sleep(awsDefaults.pollMs)) === 'aborted') throw new Error(stillWaiting());
  }
}
