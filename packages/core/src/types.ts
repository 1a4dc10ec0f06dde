import type { Logger } from 'pino';
import type { AsyncSeriesBailHook, AsyncSeriesHook } from 'tapable';
import type { LogLevel } from './logger.ts';
import type { SettingRecord, SettingSpec } from './settings.ts';
import type { SharedFacts } from './shared.ts';
import type { Sleep } from './sleep.ts';
import type { TaskMetadata } from './task-metadata.ts';

/** Extra tap options the runner understands, beside tapable's `name`, `stage` and `before`. */
export interface TapExtras {
  /** Milliseconds this tap may run (default `defaults.tapTimeoutMs`); `Infinity` for waits bounded by the stop budget alone. */
  timeout?: number;
  /** What the tap does, for `task-helper plan`: a label and, for a wait, how long it plans to take. */
  plan?: TapPlan;
  /**
   * Run beside the hook's later taps: the next tap starts at once, and the hook ends only when
   * this one has finished too (each bounded as usual). For slow side work, such as leaving a load
   * balancer, that must neither delay nor wait for the taps after it (plugin-delay's DRAIN_TIMEOUT).
   */
  beside?: boolean;
  /**
   * This drain tap is the drain's action (plugin-envoy's POST /healthcheck/fail). Every beforeDrain
   * tap, and every drain tap before it, is cut when the stop schedule says the action must start,
   * so no plugin can spend the time the action and DRAIN_TIMEOUT need. A cut action is a failed step.
   */
  drainAction?: boolean;
  /**
   * With `drainAction`: the request a watchdog outside the main loop sends when the action is due
   * and the main thread is blocked or has not done it (plugin-envoy: POST /healthcheck/fail, with
   * an empty body). It must be idempotent: it may go out beside the action's own.
   */
  fallback?: { post: string };
}

export interface TapPlan {
  label: string;
  ms?: number;
  /** More lines for `plan` to print under the label: a rule, where its values come from, the permissions it needs. */
  details?: readonly string[];
}

/** What a `beforeDrain` tap returns to skip the drain (afterDrain still runs). */
export interface SkipDrain {
  skip: string;
}

/** The hooks as tapable holds them, for the runner and `plan`; a plugin gets `TapHooks` or `PluginHooks`. */
export interface Hooks {
  readonly onStart: AsyncSeriesHook<[HookContext], TapExtras>;
  readonly beforeDrain: AsyncSeriesBailHook<[StopContext], SkipDrain | undefined, TapExtras>;
  readonly drain: AsyncSeriesHook<[StopContext], TapExtras>;
  readonly afterDrain: AsyncSeriesHook<[StopContext], TapExtras>;
  /** Runs for `task-helper health` only (the container's ECS healthCheck): a tap throws to say its part is not ready. */
  readonly health: AsyncSeriesHook<[HookContext], TapExtras>;
}

export type HookName = keyof Hooks;

/**
 * The hooks as a plugin object (`{ name, apply }`) gets them: tapable's `tap`, `tapAsync` and
 * `tapPromise` (options `name`, `stage`, `before` and `TapExtras`), and nothing that runs a hook
 * or intercepts it: running the hooks is the runner's job. `definePlugin` narrows them further.
 */
export type TapHooks = { readonly [K in HookName]: Pick<Hooks[K], 'tap' | 'tapAsync' | 'tapPromise'> };

/** The one object every tap receives; `logger`, `abortSignal`, `deadline` and `sleep` are the tap's own. */
export interface HookContext {
  readonly hook: HookName;
  /** A pino child bound to `{ plugin, hook }`. */
  readonly logger: Logger;
  /** Fires when the tap must stop: its timeout, the stop budget, (in onStart) a stop signal, or, for work it left running, the end of its hook. */
  readonly abortSignal: AbortSignal;
  /** Epoch milliseconds at which `abortSignal` fires (Infinity when nothing bounds it). */
  readonly deadline: number;
  /** An abortable wait that logs progress. */
  readonly sleep: Sleep;
  readonly config: ResolvedConfig;
  readonly shared: SharedFacts;
  /** The steps that have run so far (afterDrain sees the whole drain). */
  readonly steps: readonly Step[];
  /** Why a beforeDrain tap skipped the drain; undefined when it was not skipped. */
  readonly skipped: string | undefined;
}

export type StopHookName = 'beforeDrain' | 'drain' | 'afterDrain';

/** What the stop hooks' taps receive: the context, and the stop signal that started the sequence. */
export interface StopContext extends HookContext {
  readonly hook: StopHookName;
  /** The OS signal that started the stop sequence (SIGTERM from ECS, SIGINT at a terminal). */
  readonly stopSignal: NodeJS.Signals;
  /** Epoch ms when it arrived, so waits can be counted from it. */
  readonly signalAt: number;
}

/** A tap's options under `definePlugin`: the tap is named after the plugin. */
export interface TapOptions extends TapExtras {
  /** Lower runs earlier (default 0); see `Stage`. */
  stage?: number;
  /** Run before the taps of these plugins. */
  before?: string | string[];
}

/** One hook as a plugin sees it: it may only tap (running the hook is the runner's job). */
export interface PluginHook<Context, Result = void> {
  tapPromise(options: TapOptions, fn: (ctx: Context) => Promise<Result>): void;
}

export interface PluginHooks {
  readonly onStart: PluginHook<HookContext>;
  /** Resolve with `{ skip: reason }` to skip the drain (afterDrain still runs). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a tap that does not skip the drain returns nothing
  readonly beforeDrain: PluginHook<StopContext, SkipDrain | undefined | void>;
  readonly drain: PluginHook<StopContext>;
  readonly afterDrain: PluginHook<StopContext>;
  readonly health: PluginHook<HookContext>;
}

/** What `apply` receives beside the hooks: read settings here, and throw ConfigError for bad ones. */
export interface SetupContext {
  readonly env: NodeJS.ProcessEnv;
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  /** Resolves a setting (env, then `options`, then the default), validates it, and records where it came from for `plan`. */
  setting<T>(spec: SettingSpec<T>, options: Readonly<Record<string, unknown>>): T;
}

export interface Plugin {
  readonly name: string;
  apply(hooks: TapHooks, setup: SetupContext): void;
}

/** A plugin object, a module name or path (its default export is a factory), or `[module, options]`. */
export type PluginEntry = Plugin | string | readonly [string, Record<string, unknown>?];

/** The config file's shape. */
export interface TaskHelperConfig {
  /** Seconds from SIGTERM to SIGKILL (ECS `stopTimeout`); env STOP_TIMEOUT. */
  stopTimeout?: number;
  /** Seconds onStart may take before the helper carries on without it; env START_TIMEOUT. */
  startTimeout?: number;
  /** env LOG_LEVEL, flag --log-level. */
  logLevel?: LogLevel;
  /** Omitted: the default plugins. An empty list: none. */
  plugins?: readonly PluginEntry[];
}

export interface ResolvedConfig {
  /** The config file used, or undefined for the built-in default. */
  readonly file: string | undefined;
  readonly stopTimeout: number;
  readonly startTimeout: number;
  readonly logLevel: LogLevel;
  readonly plugins: readonly Plugin[];
  /** Core's own settings and where each came from. */
  readonly settings: readonly SettingRecord[];
  /** The ECS task the helper runs in, from the task metadata endpoint; undefined outside ECS. */
  readonly task?: TaskMetadata | undefined;
}

export type StepOutcome = 'ok' | 'cut' | 'failed' | 'timeout';

/** One tap's run, as the `ready` and `drain finished` lines report it. */
export interface Step {
  plugin: string;
  hook: HookName;
  ms: number;
  outcome: StepOutcome;
  error?: string;
}
