/**
 * Every exit code the helper chooses, in one place so docs and code cannot drift; beside them, a
 * third stop signal forces the exit with the shell's 128 + the signal's number (the CLI's signals.ts).
 */
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
