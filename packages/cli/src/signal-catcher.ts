/** SIGQUIT too: a person sending it wants the helper gone, and leaving means draining first (nginx reads it the same way). */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
/**
 * Logged and ignored. SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (a handler of our own
 * is what turns that off); SIGHUP (a closed terminal, a reload habit) and SIGUSR2 would kill the
 * helper without a drain, and it has nothing to reload.
 */
export const IGNORED_SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGHUP'] as const;

export interface SignalCatcher {
  /** Hands the signals caught so far, then every later one, to `handle`. */
  deliverTo(handle: (signal: NodeJS.Signals) => void): void;
}

/**
 * Installs the handlers at once, first thing in `run`, with nothing loaded but this module
 * (bench/signal-handlers.ts measures how soon): a signal that arrives while the config and
 * plugins load is kept until signals.ts can act on it.
 */
export function catchSignals(): SignalCatcher {
  const pending: NodeJS.Signals[] = [];
  let handle = (signal: NodeJS.Signals): void => void pending.push(signal);
  for (const name of [...STOP_SIGNALS, ...IGNORED_SIGNALS])
    process.on(name, (signal: NodeJS.Signals) => handle(signal));
  return {
    deliverTo(next) {
      handle = next;
      for (const signal of pending.splice(0)) next(signal);
    },
  };
}
