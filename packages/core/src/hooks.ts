import { AsyncSeriesBailHook, AsyncSeriesHook, type FullTap } from 'tapable';
import { runTap, type TapLimit } from './run-tap.ts';
import type { HookContext, HookName, Hooks, SkipDrain, Step, StopContext, TapExtras } from './types.ts';

/** A limit on one tap beside its hook's (the point the drain's action is due, say), or undefined. */
export type LimitOf = (hook: HookName, tap: FullTap & TapExtras) => TapLimit | undefined;

/**
 * The lifecycle hooks (and `health`), each tap wrapped by `runTap` as it registers. A `beside` tap
 * is handed to `track` and the hook moves on; the runner awaits it before the hook ends.
 */
export function createHooks(
  record: (step: Step) => void,
  track: (running: Promise<unknown>) => void,
  limitOf: LimitOf = () => undefined,
): Hooks {
  const hooks: Hooks = Object.freeze({
    onStart: new AsyncSeriesHook<[HookContext], TapExtras>(['ctx'], 'onStart'),
    beforeDrain: new AsyncSeriesBailHook<[StopContext], SkipDrain | undefined, TapExtras>(['ctx'], 'beforeDrain'),
    drain: new AsyncSeriesHook<[StopContext], TapExtras>(['ctx'], 'drain'),
    afterDrain: new AsyncSeriesHook<[StopContext], TapExtras>(['ctx'], 'afterDrain'),
    health: new AsyncSeriesHook<[HookContext], TapExtras>(['ctx'], 'health'),
  });
  for (const name of Object.keys(hooks) as HookName[]) {
    hooks[name].intercept({
      register: (tap) => {
        const run = (ctx: HookContext) => runTap(tap, ctx, record, limitOf(ctx.hook, wrapped));
        // The registered object itself, so limitOf can find it among the hook's taps.
        const wrapped: FullTap & TapExtras = {
          ...tap,
          type: 'promise',
          fn: (tap as TapExtras).beside ? (ctx: HookContext) => (track(run(ctx)), Promise.resolve(undefined)) : run,
        };
        return wrapped;
      },
    });
  }
  return hooks;
}
