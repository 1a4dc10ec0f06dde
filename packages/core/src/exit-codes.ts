import { constants } from 'node:os';

/** Every exit code the helper uses, in one place so docs and code cannot drift. */
export const ExitCode = Object.freeze({
  /** Drained cleanly (or skipped the drain because the app never came up). */
  ok: 0,
  /** Drained, but at least one step failed or timed out; the logs say which. */
  stepFailed: 1,
  /** Bad command line. */
  usage: 2,
  /** Bad configuration: sysexits' EX_CONFIG. */
  config: 78,
});

/** A repeated stop signal forced the exit: the shell convention 128 + signal number. */
export function forcedExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
