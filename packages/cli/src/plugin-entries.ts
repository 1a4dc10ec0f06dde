import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type Plugin } from '@task-helper/core';
import { echo, firstLine } from '@task-helper/core/host';

// process.getBuiltinModule, not an ESM import: the ESM view of fs, net and util loads their lazy parts (fs/promises, readline…), 2.6 MB of idle memory (bench/footprint.ts).
const { existsSync } = process.getBuiltinModule('node:fs');

function isPlugin(value: unknown): value is Plugin {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Plugin).name === 'string' &&
    typeof (value as Plugin).apply === 'function'
  );
}

/**
 * Turns the config's `plugins` list into plugin objects. Module names and paths resolve from
 * `baseDir` (the config file's folder), as pino resolves its transports.
 */
export async function resolvePlugins(entries: unknown, baseDir: string, where: string): Promise<Plugin[]> {
  if (!Array.isArray(entries)) {
    throw new ConfigError(`${where}: plugins=${echo(entries)} is invalid: expected a list of plugins`);
  }
  const plugins: Plugin[] = [];
  for (const [index, entry] of entries.entries()) {
    plugins.push(await resolvePlugin(entry, baseDir, `${where}: plugins[${index}]`));
  }
  return plugins;
}

async function resolvePlugin(entry: unknown, baseDir: string, where: string): Promise<Plugin> {
  if (isPlugin(entry)) return entry;
  const [specifier, options] = typeof entry === 'string' ? [entry, undefined] : Array.isArray(entry) ? entry : [];
  if (typeof specifier !== 'string' || (Array.isArray(entry) && entry.length > 2)) {
    throw new ConfigError(
      `${where}=${echo(entry)} is invalid: expected a plugin object, a module name or path, or [module, options]`,
    );
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new ConfigError(`${where}: the options of "${specifier}" must be an object, not ${echo(options)}`);
  }
  const url = resolveSpecifier(specifier, baseDir, where);
  let module: { default?: unknown };
  try {
    module = await import(url);
  } catch (error) {
    throw new ConfigError(`${where}: plugin "${specifier}" could not be loaded: ${firstLine(error)}`);
  }
  if (typeof module.default !== 'function') {
    throw new ConfigError(`${where}: "${specifier}" must default-export a function that returns a plugin`);
  }
  let plugin: unknown;
  try {
    plugin = module.default(options ?? {});
  } catch (error) {
    throw new ConfigError(`${where}: plugin "${specifier}": ${firstLine(error)}`);
  }
  if (!isPlugin(plugin)) {
    throw new ConfigError(`${where}: "${specifier}" returned ${echo(plugin)}, not a plugin ({ name, apply })`);
  }
  return plugin;
}

function resolveSpecifier(specifier: string, baseDir: string, where: string): string {
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
    const file = path.resolve(baseDir, specifier);
    if (!existsSync(file))
      throw new ConfigError(
        `${where}: plugin file ${file} does not exist; fix the path (it is relative to the config file)`,
      );
    return pathToFileURL(file).href;
  }
  // From the config file's folder first, then from the helper's own installation, so the built-in
  // plugins (and any installed beside the helper, as in a derived image) are found by name.
  for (const dir of [baseDir, import.meta.dirname]) {
    try {
      return pathToFileURL(createRequire(path.join(dir, 'noop.js')).resolve(specifier)).href;
    } catch {
      // not installed there; try the next folder
    }
  }
  throw new ConfigError(
    `${where}: cannot find plugin "${specifier}" from ${baseDir} or the helper's installation; install it or fix the name`,
  );
}
