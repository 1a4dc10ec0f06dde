import { catchStrayErrors, ConfigError, holdExits, watchStopListeners, type Runner } from '@task-helper/core/host';
import type { Logger } from 'pino';
import { guardLoad } from '../load-guard.ts';
import { catchSignals, handleSignals, STOP_SIGNALS, type SignalCatcher } from '../signals.ts';
import { command, type CommandOptions } from './command.ts';

type AddedListener = Parameters<Parameters<typeof watchStopListeners>[1]>[0];

/**
 * `task-helper run`: run onStart, then wait for a stop signal (or, with PRESTOP_PORT, the kubelet's
 * preStop call) and drain; exits from the signal handler. `signals` were caught before this module loaded when the CLI could (cli.ts).
 */
export function run(options: CommandOptions, signals: SignalCatcher = catchSignals()): Promise<void> {
  const file = options.config ?? 'the config';
  // Before the plugins apply, after the helper's own handlers: any stop-signal listener from here on is a plugin's.
  const added: AddedListener[] = [];
  let warn = (listener: AddedListener): void => void added.push(listener);
  watchStopListeners(STOP_SIGNALS, (listener) => warn(listener));
  return command(
    options,
    async ({ runner, logger, exit }) => {
      catchStrayErrors(logger, () => runner.noteStrayError());
      ownTheExit(runner, logger);
      const start = logger.child({ phase: 'start' });
      warn = (listener) =>
        start.warn(
          listener,
          'stop signal listener added by a plugin: it runs beside the drain, and an exit it calls is held until the drain finishes',
        );
      for (const listener of added.splice(0)) warn(listener);
      handleSignals(signals, runner, logger, exit);
      // Signal handlers do not keep Node alive; a timer that fires every 12 days does, at no CPU cost.
      setInterval(() => undefined, 2 ** 30);
      // Kubernetes: the preStop call starts the stop too; the exit still waits for SIGTERM, which
      // the kubelet sends a native sidecar only after the container the hook held has exited.
      const { preStop } = runner.config;
      if (preStop)
        await (await import('../prestop-endpoint.ts')).servePreStop(preStop, runner, logger).catch((error: Error) => {
          throw new ConfigError(error.message);
        });
      await runner.start();
    },
    { guardLoad: (load, logger) => guardLoad(load, { signals, env: process.env, logger, file }) },
  );
}

/** A plugin's process.exit (in a tap, a timer or its own SIGTERM handler) waits for the drain; the exit is then 1. */
function ownTheExit(runner: Runner, logger: Logger): void {
  holdExits((held) => {
    runner.noteHeldExit();
    logger.error(held, 'process exit held: the helper exits after the drain');
  });
}
