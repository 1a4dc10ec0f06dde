/**
 * Every exit code the helper chooses, in one place so docs and code cannot drift; `exitCodeMeanings`
 * says what each means. A third stop signal forces the exit with the shell's 128 + the signal's
 * number (`forcedExitCode` in the CLI's signals.ts, which loads before core).
 */
export const ExitCode = Object.freeze({
  ok: 0,
  stepFailed: 1,
  usage: 2,
  /** sysexits' EX_CONFIG. */
  config: 78,
});

/** What each exit code tells an operator: the docs' exit-code table is generated from it (`pnpm docs`). */
export const exitCodeMeanings: Readonly<Record<keyof typeof ExitCode | 'forced', string>> = Object.freeze({
  ok: 'drained cleanly (or skipped the drain because the app never came up)',
  stepFailed:
    "a step failed or timed out, at start or in the drain (the `ready` and `drain finished` lines list each step's outcome), or a plugin left an error unhandled (`stray error caught`)",
  usage: 'bad command line (including `--config` without a value)',
  config:
    "bad configuration (EX_CONFIG): a setting, or a `--config` that is empty, missing, a folder or unreadable, or a config file still loading after `START_TIMEOUT` or when a stop's action is due; one `fatal` line names the setting, its value and what is allowed",
  forced: 'forced out by a third stop signal: 128 + the signal number',
});
