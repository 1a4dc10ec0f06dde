export { AbortReason } from './abort-reasons.ts';
export { afterDrainMarginMs } from './budget.ts';
export { defaults } from './defaults.ts';
export { defineConfig, definePlugin, type PluginDefinition, type PluginFactory, type PluginOptions, type PluginSettings, type PluginSetup, type SettingDeclaration, type SettingDeclarations } from './define.ts';
export { ConfigError, ExitError, invalidSetting } from './errors.ts';
export { ExitCode, forcedExitCode } from './exit-codes.ts';
export { httpGet, parseResponse, type HttpAnswer } from './http-get.ts';
export { createLogger, logLevels, type LogLevel } from './logger.ts';
export { Runner, type RunnerOptions } from './runner.ts';
export { boolean, checkOptions, httpUrl, oneOf, port, resolveSetting, seconds, urlPath, type Parser, type SettingRecord, type SettingSource, type SettingSpec } from './settings.ts';
export { defineFact, SharedFacts, TRAFFIC_STOPPED, type Fact } from './shared.ts';
export { Stage } from './stages.ts';
export type { Sleep, SleepOptions, SleepResult } from './sleep.ts';
export type {
  HookContext,
  HookName,
  Hooks,
  Plugin,
  PluginEntry,
  PluginHook,
  PluginHooks,
  ResolvedConfig,
  SetupContext,
  SkipDrain,
  Step,
  StepOutcome,
  StopContext,
  StopHookName,
  TapExtras,
  TapOptions,
  TapPlan,
  TaskHelperConfig,
} from './types.ts';
