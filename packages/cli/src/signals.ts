// The first step of the stop path: the signal, caught and handed to the runner (runner.ts, in
// @task-helper/core). Only type imports here: this module loads first and alone, so the handlers
// are in place before anything else loads (bench/signal-handlers.ts measures how soon).
import type { Logger } from 'pino';
import type { Runner } from '@task-helper/core/host';

/** SIGQUIT too: a person sending it wants the helper gone, and leaving means draining first (nginx reads it the same way). */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
/**
 * Logged and ignored. SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (a handler of our own
 * is what turns that off); SIGHUP (a closed terminal, a reload habit) and SIGUSR2 would kill the
 * helper without a drain, and it has nothing to reload.
 */
const IGNORED_SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGHUP'] as const;

export interface SignalCatcher {
  /** Hands the signals caught so far, then every later one, to `handle`, with when each arrived (epoch ms). */
  deliverTo(handle: (signal: NodeJS.Signals, at: number) => void): void;
  /** Called at the first stop signal, however early (while the config loads: load-guard.ts), with when it arrived. */
  onFirstStop(listener: (signal: NodeJS.Signals, at: number) => void): void;
}

/**
 * Installs the handlers at once, first thing in `run`: a signal that arrives while the config and
 * plugins load is kept until `handleSignals` can act on it.
 */
export function catchSignals(): SignalCatcher {
  const pending: Array<[NodeJS.Signals, number]> = [];
  let handle = (signal: NodeJS.Signals, at: number): void => void pending.push([signal, at]);
  let firstStop: [NodeJS.Signals, number] | undefined;
  let onFirstStop = (_signal: NodeJS.Signals, _at: number): void => undefined;
  for (const name of [...STOP_SIGNALS, ...IGNORED_SIGNALS])
    process.on(name, (signal: NodeJS.Signals) => {
      const at = Date.now();
      if (!firstStop && (STOP_SIGNALS as readonly string[]).includes(signal)) {
        firstStop = [signal, at];
        onFirstStop(signal, at);
      }
      handle(signal, at);
    });
  return {
    deliverTo(next) {
      handle = next;
      for (const [signal, at] of pending.splice(0)) next(signal, at);
    },
    onFirstStop(listener) {
      onFirstStop = listener;
      if (firstStop) listener(...firstStop);
    },
  };
}

/**
 * The first SIGTERM, SIGINT or SIGQUIT (caught so far or still to come) starts the stop sequence,
 * or joins the one a preStop call started, and exits when it is over. ECS sends one SIGTERM and
 * later SIGKILL, so a second signal is only logged; a third, from someone pressing Ctrl+C at a
 * terminal, exits at once with the shell's 128 + the signal's number.
 */
export function handleSignals(
  signals: SignalCatcher,
  runner: Runner,
  logger: Logger,
  exit: (code: number) => void,
): void {
  let received = 0;
  signals.deliverTo((signal, at) => {
    if ((IGNORED_SIGNALS as readonly string[]).includes(signal)) {
      logger.warn({ signal }, 'signal ignored: only SIGTERM, SIGINT or SIGQUIT stop the helper (after the drain)');
      return;
    }
    received += 1;
    if (received === 1) {
      // After a preStop call (prestop-endpoint.ts) this joins its stop: the exit comes once the drain is over.
      if (runner.stoppedBy === 'preStop')
        logger.info(
          { phase: 'stop', signal },
          'stop signal after the preStop call: the helper exits once the drain is over',
        );
      void runner.stop(signal, at).then(exit);
    } else if (received === 2)
      logger.warn({ signal }, 'signal ignored: the stop sequence is already running (a third one forces exit)');
    else {
      const exitCode = forcedExitCode(signal);
      logger.error({ signal, exitCode }, 'forced exit');
      exit(exitCode);
    }
  });
}

/** A third stop signal forces the exit with the shell's convention, 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). */
export function forcedExitCode(signal: NodeJS.Signals): number {
  return 128 + process.getBuiltinModule('node:os').constants.signals[signal];
}
