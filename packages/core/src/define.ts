import { ConfigError } from './errors.ts';
import { checkOptions, type Parser } from './settings.ts';
import type {
  HookName,
  Plugin,
  PluginHooks,
  ResolvedConfig,
  SetupContext,
  TapHooks,
  TapOptions,
  TaskHelperConfig,
} from './types.ts';

/** Types a config file's default export. */
export function defineConfig(config: TaskHelperConfig): TaskHelperConfig {
  return config;
}

/** One setting of a plugin, declared once: its option key is the declaration's key. */
export interface SettingDeclaration<T> {
  /** The environment variable that overrides the config file's option. */
  env?: string;
  /** What the setting does, for an operator: the settings table in the docs is generated from it (`pnpm docs`). */
  description?: string;
  parse: Parser<T>;
  /**
   * The value when neither gives one; a function receives the settings declared before this one and
   * the resolved config (its `task`, in ECS, gives defaults such as the task's id or address).
   */
  default?: T | ((settings: Readonly<Record<string, unknown>>, config: ResolvedConfig) => T);
  /** Unset is a configuration error (exit 78). */
  required?: boolean;
  /** Read from the environment only: not an option of the config file. */
  envOnly?: boolean;
  /** A value `plan` and the logs must not show (a token, a password). */
  secret?: boolean;
}

// `any`: each declaration has its own value type, which the mapped types below recover.
// biome-ignore lint/suspicious/noExplicitAny: see above
export type SettingDeclarations = Readonly<Record<string, SettingDeclaration<any>>>;

type ValueOf<D> = D extends { parse: Parser<infer T> } ? T : never;

/** The options a config file may pass to the plugin's factory: every declared setting but the env-only ones. */
export type PluginOptions<S extends SettingDeclarations> = {
  -readonly [K in keyof S as S[K] extends { envOnly: true } ? never : K]?: ValueOf<S[K]>;
};

/** The settings `apply` receives, resolved and validated: never undefined when declared with a default or required. */
export type PluginSettings<S extends SettingDeclarations> = {
  readonly [K in keyof S]: S[K] extends { required: true } | { default: unknown }
    ? ValueOf<S[K]>
    : ValueOf<S[K]> | undefined;
};

export interface PluginSetup<S extends SettingDeclarations> extends Omit<SetupContext, 'setting'> {
  readonly settings: PluginSettings<S>;
}

export interface PluginDefinition<S extends SettingDeclarations> {
  /** Names the plugin's steps, log lines and settings. */
  name: string;
  settings?: S;
  /** Runs once at start: taps hooks; throw ConfigError for a bad combination of settings. */
  apply(hooks: PluginHooks, setup: PluginSetup<S>): void;
}

/** A plugin factory, as a module plugin default-exports it; `settings` lists its declarations. */
export interface PluginFactory<S extends SettingDeclarations> {
  (options?: PluginOptions<S>): Plugin;
  readonly pluginName: string;
  readonly settings: S;
}

const HOOK_NAMES: readonly HookName[] = ['onStart', 'beforeDrain', 'drain', 'afterDrain', 'health'];

/**
 * Declares a plugin once: its settings (env name, parser, default, secret or not) give the options
 * type, the known option keys and `plan`'s record of where each value came from. Returns the
 * factory a config file calls (or names by module), which checks options before reading them.
 */
export function definePlugin<const S extends SettingDeclarations = Record<never, never>>(
  definition: PluginDefinition<S>,
): PluginFactory<S> {
  const declarations = (definition.settings ?? {}) as S;
  const optionKeys = Object.keys(declarations).filter((key) => !declarations[key]!.envOnly);
  const factory = (options?: PluginOptions<S>): Plugin => ({
    name: definition.name,
    apply(hooks, setup) {
      const given = checkOptions(options, optionKeys);
      const settings: Record<string, unknown> = {};
      for (const [key, declared] of Object.entries(declarations)) {
        const fallback =
          typeof declared.default === 'function' ? declared.default(settings, setup.config) : declared.default;
        const value = setup.setting(
          {
            option: declared.envOnly ? undefined : key,
            env: declared.env,
            parse: declared.parse,
            fallback,
            secret: declared.secret,
          },
          given,
        );
        if (declared.required && value === undefined)
          throw new ConfigError(`${requiredName(key, declared)} is required`);
        settings[key] = value;
      }
      const { setting: _, ...rest } = setup;
      definition.apply(pluginHooks(hooks, definition.name), {
        ...rest,
        settings: Object.freeze(settings) as PluginSettings<S>,
      });
    },
  });
  return Object.assign(factory, { pluginName: definition.name, settings: declarations });
}

function requiredName(key: string, declared: SettingDeclaration<unknown>): string {
  if (declared.envOnly) return declared.env ?? key;
  return declared.env === undefined ? `the ${key} option` : `the ${key} option (or ${declared.env})`;
}

/** The hooks with tapping only, each tap named after the plugin, so its steps are attributed to it. */
function pluginHooks(hooks: TapHooks, name: string): PluginHooks {
  const tapOnly = (hook: HookName) =>
    Object.freeze({
      tapPromise: (options: TapOptions, fn: (ctx: never) => Promise<unknown>) =>
        (hooks[hook].tapPromise as (options: object, fn: unknown) => void)({ ...options, name }, fn),
    });
  return Object.freeze(Object.fromEntries(HOOK_NAMES.map((hook) => [hook, tapOnly(hook)]))) as unknown as PluginHooks;
}
