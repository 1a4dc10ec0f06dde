import { tapScope } from './stray-errors.ts';

/**
 * Reports every listener added from now on for one of `signals` (a shutdown library's own SIGTERM
 * handler, say), with the plugin and hook whose code added it when known (setup runs in the
 * plugin's scope too). Such a handler runs beside the helper's at the stop; the exit it may call
 * is held (exit-guard.ts), but its other work races the drain.
 */
export function watchStopListeners(
  signals: readonly string[],
  onAdded: (added: { signal: string; plugin?: string; hook?: string }) => void,
): void {
  process.on('newListener', (event) => {
    if (typeof event === 'string' && signals.includes(event)) onAdded({ signal: event, ...tapScope.getStore() });
  });
}
