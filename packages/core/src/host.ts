// What a program that loads and runs plugins (the task-helper CLI) needs: the plugin API of
// index.ts, which it re-exports (so the bundle keeps core's modules in few chunks: each chunk the
// CLI loads at start costs resolution work, measured by bench/footprint.ts), and the runner's side.
export * from './index.ts';
export { coreSettings, readCoreSettings, resolveCoreSetting, type PreStopAddress } from './core-settings.ts';
export { defaults } from './defaults.ts';
export { echo, ExitError, invalidSetting, maskSecrets, maskUrlCredentials } from './errors.ts';
export { ExitCode, exitCodeMeanings } from './exit-codes.ts';
export { exitProcess, holdExits } from './exit-guard.ts';
export { LogLines } from './log-lines.ts';
export { createLogger, logLevels, type LogLevel } from './logger.ts';
export { Runner, type RunnerOptions } from './runner.ts';
export { watchStopListeners } from './stop-listeners.ts';
export {
  checkOptions,
  resolveSetting,
  settingRecord,
  type SettingRecord,
  type SettingSource,
  type SettingSpec,
} from './settings.ts';
export type { StrayVariable } from './stray-env.ts';
export { identifyTask } from './task-metadata.ts';
export {
  minStopTimeoutMs,
  heldContainerKillMs,
  plannedWaits,
  stopBudgetMs,
  stopSchedule,
  tapDeadlines,
  type PlannedWaits,
  type StopSchedule,
} from './stop-schedule.ts';
export { catchStrayErrors } from './stray-errors.ts';
export { watchStop, type Watchdog } from './watchdog.ts';
