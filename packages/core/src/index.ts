// The plugin author's API, and nothing else: what runs plugins (Runner, logger, exit codes) is in
// `@task-helper/core/host`, the test runner in `@task-helper/core/testing`.
export { AbortReason, AbortReasonError } from './deadline.ts';
export {
  defineConfig,
  definePlugin,
  type PluginDefinition,
  type PluginFactory,
  type PluginOptions,
  type PluginSettings,
  type PluginSetup,
  type SettingDeclaration,
  type SettingDeclarations,
} from './define.ts';
export { ConfigError, errorText, firstLine } from './errors.ts';
export { httpGet, type HttpAnswer } from './http-get.ts';
export type { LogLevel } from './logger.ts';
export { boolean, httpUrl, listOf, oneOf, port, seconds, urlPath, type Parser } from './settings.ts';
export {
  defineFact,
  ENVOY_UPSTREAM_SERVED,
  REPLACEMENTS_IN_SERVICE,
  TRAFFIC_STOPPED,
  type Fact,
  type SharedFacts,
} from './shared.ts';
export type { Sleep, SleepOptions, SleepResult } from './sleep.ts';
export { Stage } from './stages.ts';
export { METADATA_ENV, type TaskMetadata } from './task-metadata.ts';
export type {
  HookContext,
  HookName,
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
  TapHooks,
  TapOptions,
  TapPlan,
  TaskHelperConfig,
} from './types.ts';
