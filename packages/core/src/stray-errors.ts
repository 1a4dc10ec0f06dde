import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import { firstLine } from './errors.ts';
import type { HookName } from './types.ts';

/** The tap (or plugin setup, `apply`) whose code is running; async work it starts (timers, promises) keeps this scope. */
export const tapScope = new AsyncLocalStorage<{ plugin: string; hook: HookName | 'apply' }>();

/**
 * A plugin's error that no one awaits (a floating rejection, a throw inside a timer) would end the
 * process without the drain. Each is logged as one line, with the plugin and hook that started
 * the work when known, and the helper carries on. `onStray` lets the exit code report it.
 */
export function catchStrayErrors(logger: Logger, onStray: () => void): void {
  const report = (kind: 'unhandledRejection' | 'uncaughtException') => (error: unknown) => {
    onStray();
    logger.error({ ...tapScope.getStore(), kind, error: firstLine(error) }, 'stray error caught');
  };
  process.on('unhandledRejection', report('unhandledRejection'));
  process.on('uncaughtException', report('uncaughtException'));
}
