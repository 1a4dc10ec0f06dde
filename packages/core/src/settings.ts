import { ConfigError, echo, invalidSetting, REDACTED } from './errors.ts';

/**
 * Turns a raw setting into a value, or returns what was expected instead. Values from the
 * environment arrive as strings; values from a config file must already have the right type.
 */
export interface Parser<T> {
  readonly expected: string;
  parse(raw: unknown, fromEnv: boolean): T | undefined;
}

const DECIMAL = /^\d+(\.\d+)?$/;

function number(raw: unknown, fromEnv: boolean): number | undefined {
  if (fromEnv) return typeof raw === 'string' && DECIMAL.test(raw.trim()) ? Number(raw) : undefined;
  return typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
}

/** The longest wait a Node timer holds (2^31 − 1 ms); longer ones fire at once. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * A duration in seconds, decimals allowed; zero only when `allowZero`; at most `max` (by default
 * what a timer holds), with `why` saying where a tighter bound comes from.
 */
export function seconds(
  example: number,
  {
    allowZero = true,
    min,
    max = MAX_TIMER_SECONDS,
    why = '',
  }: { allowZero?: boolean; min?: { value: number; why: string }; max?: number; why?: string } = {},
): Parser<number> {
  if (why === '' && max === MAX_TIMER_SECONDS) why = 'the longest timer Node holds';
  const least = min ? `≥ ${min.value} (${min.why})` : allowZero ? '≥ 0' : '> 0';
  return {
    expected: `a number of seconds ${least}, such as ${example}, at most ${max}${why ? ` (${why})` : ''}`,
    parse: (raw, fromEnv) => {
      const value = number(raw, fromEnv);
      return value !== undefined && value >= (min?.value ?? 0) && value <= max && (allowZero || value > 0)
        ? value
        : undefined;
    },
  };
}

export const httpUrl: Parser<string> = {
  expected: 'an http:// or https:// URL',
  parse: (raw) => {
    if (typeof raw !== 'string' || !URL.canParse(raw)) return undefined;
    const { protocol } = new URL(raw);
    return protocol === 'http:' || protocol === 'https:' ? raw.replace(/\/+$/, '') : undefined;
  },
};

export const port: Parser<number> = {
  expected: 'a TCP port from 1 to 65535',
  parse: (raw, fromEnv) => {
    const value = fromEnv && typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65_535
      ? (value as number)
      : undefined;
  },
};

/** An IPv4 or IPv6 address (no brackets, no host name: nothing to resolve, so it cannot fail later). */
export const ipAddress: Parser<string> = {
  expected: "an IPv4 or IPv6 address, such as 10.1.2.3 or the pod's $(POD_IP)",
  parse: (raw) => (typeof raw === 'string' && process.getBuiltinModule('node:net').isIP(raw) !== 0 ? raw : undefined),
};

export const urlPath: Parser<string> = {
  expected: 'a URL path starting with /, such as /ping/ping',
  parse: (raw) => (typeof raw === 'string' && raw.startsWith('/') && !/\s/.test(raw) ? raw : undefined),
};

export const boolean: Parser<boolean> = {
  expected: 'true or false',
  parse: (raw, fromEnv) => {
    if (!fromEnv) return typeof raw === 'boolean' ? raw : undefined;
    return raw === 'true' ? true : raw === 'false' ? false : undefined;
  },
};

/** A list: comma-separated in the environment, an array in a file; at least one item, each matching `valid`. */
export function listOf(expected: string, valid: RegExp): Parser<string[]> {
  return {
    expected,
    parse: (raw, fromEnv) => {
      const list = fromEnv && typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : raw;
      return Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && valid.test(s))
        ? (list as string[])
        : undefined;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return {
    expected: `one of ${values.join(', ')}`,
    parse: (raw) => (values.includes(raw as T) ? (raw as T) : undefined),
  };
}

export interface SettingSpec<T> {
  /** The option's key in the config file; none for a setting only the environment gives. */
  option?: string;
  /** The environment variable that overrides it, if any. */
  env?: string;
  /** What the setting does, for an operator: the settings table in the docs is generated from it (`pnpm docs`). */
  description?: string;
  parse: Parser<T>;
  fallback: T;
  /** A credential: `plan`, logs and errors show "[redacted]" instead of its value. */
  secret?: boolean;
}

/** `ecs`: read from the task definition (STOP_TIMEOUT, when no other source gives it). */
export type SettingSource = 'default' | 'file' | 'env' | 'ecs';

/** Where a setting's value came from, as `task-helper plan` shows it. */
export interface SettingRecord {
  plugin: string | undefined;
  option: string | undefined;
  env: string | undefined;
  value: unknown;
  source: SettingSource;
  secret?: true;
}

/** The record `plan` shows for a resolved setting: a secret's value never leaves the process. */
export function settingRecord(
  plugin: string | undefined,
  spec: SettingSpec<unknown>,
  value: unknown,
  source: SettingSource,
): SettingRecord {
  return {
    plugin,
    option: spec.option,
    env: spec.env,
    value: spec.secret ? REDACTED : value,
    source,
    ...(spec.secret ? { secret: true as const } : {}),
  };
}

/** Resolves one setting: environment variable, then config-file option, then the default. */
export function resolveSetting<T>(
  spec: SettingSpec<T>,
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): { value: T; source: SettingSource } {
  const fromEnv = spec.env === undefined ? undefined : env[spec.env];
  if (spec.env !== undefined && fromEnv !== undefined)
    return { value: parseOrThrow(spec.env, fromEnv, true, spec), source: 'env' };
  const fromFile = spec.option === undefined ? undefined : options[spec.option];
  if (spec.option !== undefined && fromFile !== undefined)
    return { value: parseOrThrow(spec.option, fromFile, false, spec), source: 'file' };
  return { value: spec.fallback, source: 'default' };
}

function parseOrThrow<T>(name: string, raw: unknown, fromEnv: boolean, { parse, secret = false }: SettingSpec<T>): T {
  const value = parse.parse(raw, fromEnv);
  if (value === undefined) throw invalidSetting(name, raw, parse.expected, { secret });
  return value;
}

/**
 * Rejects anything but a plain object whose keys are all known: a typo must not go unnoticed.
 * `where` names the object in the message (a plugin's runner already prefixes its name).
 */
export function checkOptions(
  options: unknown,
  known: readonly string[],
  where?: string,
): Readonly<Record<string, unknown>> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(`${where ?? 'options'} must be an object, not ${echo(options)}`);
  }
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    const names = unknown.map((k) => `"${k}"`).join(', ');
    throw new ConfigError(
      `${where === undefined ? 'unknown' : `${where} has unknown`} option ${names}; known options: ${known.join(', ') || 'none'}`,
    );
  }
  return options as Record<string, unknown>;
}
