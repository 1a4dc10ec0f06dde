import type { Plugin, TaskHelperConfig } from './types.ts';

/** Types a config file's default export. */
export function defineConfig(config: TaskHelperConfig): TaskHelperConfig {
  return config;
}

/** Types a plugin object: `definePlugin({ name, apply(hooks, setup) { … } })`. */
export function definePlugin(plugin: Plugin): Plugin {
  return plugin;
}
