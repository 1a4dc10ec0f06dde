import { AsyncSeriesBailHook, AsyncSeriesHook } from 'tapable';
import { runTap } from './run-tap.ts';
import type { HookContext, HookName, Hooks, SkipDrain, Step, StopContext, TapExtras } from './types.ts';

/**
 * The lifecycle hooks (and `health`), each tap wrapped by `runTap` as it registers. A `beside` tap
 * is handed to `track` and the hook moves on; the runner awaits it before the hook ends.
 */
export function createHooks(record: (step: Step) => void, track: (running: Promise<unknown>) => void): Hooks {
  const hooks: Hooks = Object.freeze({
    onStart: new AsyncSeriesHook<[HookContext], TapExtras>(['ctx'], 'onStart'),
    beforeDrain: new AsyncSeriesBailHook<[StopContext], SkipDrain | undefined, TapExtras>(['ctx'], 'beforeDrain'),
    drain: new AsyncSeriesHook<[StopContext], TapExtras>(['ctx'], 'drain'),
    afterDrain: new AsyncSeriesHook<[StopContext], TapExtras>(['ctx'], 'afterDrain'),
    health: new AsyncSeriesHook<[HookContext], TapExtras>(['ctx'], 'health'),
  });
  for (const name of Object.keys(hooks) as HookName[]) {
    hooks[name].intercept({
      register: (tap) => ({
        ...tap,
        type: 'promise',
        fn: (tap as TapExtras).beside
          ? (ctx: HookContext) => (track(runTap(tap, ctx, record)), Promise.resolve(undefined))
          : (ctx: HookContext) => runTap(tap, ctx, record),
      }),
    });
  }
  return hooks;
}
