import path from 'node:path';
import type { CosmiconfigResult, Loader } from 'cosmiconfig';
import { ConfigError, errorText, type Plugin, type ResolvedConfig } from '@task-helper/core';
import { checkOptions, invalidSetting, readCoreSettings, type LogLevel } from '@task-helper/core/host';
import { resolvePlugins } from './plugin-entries.ts';

// process.getBuiltinModule, not an ESM import: the ESM view of fs, net and util loads their lazy parts (fs/promises, readline…), 2.6 MB of idle memory (bench/footprint.ts).
const { existsSync, readdirSync } = process.getBuiltinModule('node:fs');

const KEYS = ['stopTimeout', 'startTimeout', 'preStopPort', 'preStopHost', 'logLevel', 'plugins'] as const;

export interface LoadConfigOptions {
  /** `--config <file>`: that file or an error; otherwise search the working folder with cosmiconfig. */
  file?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** `--log-level`, which beats LOG_LEVEL and the file. */
  logLevel?: LogLevel | undefined;
}

/** Finds, loads and validates the config; every problem is a ConfigError naming the culprit. */
export async function loadConfig({ file, env, logLevel }: LoadConfigOptions): Promise<ResolvedConfig> {
  const cwd = process.cwd();
  const found = await findConfig(file, cwd);
  const where = found ? found.filepath : 'config';
  const options = checkOptions(found?.config ?? {}, KEYS, where);
  const plugins: Plugin[] =
    options.plugins === undefined
      ? (await import('./default-config.ts')).defaultPlugins()
      : await resolvePlugins(options.plugins, path.dirname(where), where);
  try {
    const { stopTimeout, startTimeout, logLevel: level, preStop, settings } = readCoreSettings(options, env);
    return {
      file: found?.filepath,
      stopTimeout,
      startTimeout,
      logLevel: logLevel ?? level,
      preStop,
      plugins,
      settings,
    };
  } catch (error) {
    throw found && error instanceof ConfigError ? new ConfigError(`${where}: ${error.message}`) : error;
  }
}

async function findConfig(
  file: string | undefined,
  cwd: string,
): Promise<{ config: unknown; filepath: string } | null> {
  if (file === undefined && !mayHoldConfig(cwd)) return null;
  if (file?.trim() === '') throw invalidSetting('--config', file, "a config file's path");
  if (file !== undefined && !existsSync(path.resolve(cwd, file)))
    throw new ConfigError(`--config ${file}: no such file (looked for ${path.resolve(cwd, file)})`);
  // Loaded only when there may be a file for it to read: about 4 MB and 10 ms the ECS default never needs.
  // `.default` is module.exports (cosmiconfig is CommonJS), the one form both Node and the bundle give.
  const { cosmiconfig, defaultLoaders } = (await import('cosmiconfig')).default;
  const explorer = cosmiconfig('task-helper', { cache: false, loaders: namingLoaders(defaultLoaders) });
  if (file === undefined) return explorer.search(cwd);
  const filepath = path.resolve(cwd, file);
  let result: CosmiconfigResult;
  try {
    result = await explorer.load(filepath);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'EISDIR')
      throw new ConfigError(`--config ${file}: ${filepath} is a folder; name the config file itself`);
    if (code !== undefined && /^E[A-Z]+$/.test(code))
      throw new ConfigError(`--config ${file}: ${filepath} cannot be read (${code}); pass a readable file`);
    throw error;
  }
  if (result === null)
    throw invalidSetting(
      '--config',
      file,
      'a file cosmiconfig can read (.js, .mjs, .ts, .json, .yaml, or package.json)',
    );
  return result;
}

/** cosmiconfig searches only the working folder: a listing tells whether any of its candidates (or package.json) is there. */
function mayHoldConfig(cwd: string): boolean {
  try {
    return readdirSync(cwd).some(
      (name) =>
        name === 'package.json' ||
        name === '.config' ||
        name.startsWith('.task-helperrc') ||
        name.startsWith('task-helper.config.'),
    );
  } catch {
    return true;
  }
}

/** cosmiconfig's errors do not always say which file failed; these loaders add it. */
function namingLoaders(loaders: Record<string, Loader>): Record<string, Loader> {
  return Object.fromEntries(
    Object.entries(loaders).map(([extension, load]): [string, Loader] => [
      extension,
      async (filepath, content) => {
        try {
          return await load(filepath, content);
        } catch (error) {
          return rethrow(error, filepath);
        }
      },
    ]),
  );
}

function rethrow(error: unknown, filepath: string): never {
  const text = errorText(error);
  // cosmiconfig prefixes JSON/YAML errors with "JSON Error in <file>:" on a line of its own.
  const detail =
    text
      .replace(/^(JSON|YAML) Error in [^\n]*:\n/, '')
      .split('\n')
      .find((line) => line.trim() !== '') ?? text;
  throw new ConfigError(
    `${filepath} could not be loaded: ${detail.trim()}; fix the file or pass another with --config`,
  );
}
