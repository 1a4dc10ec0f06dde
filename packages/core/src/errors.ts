import { ExitCode } from './exit-codes.ts';

/** An error the operator can fix; the CLI prints its message as one line and exits with `exitCode`. */
export class ExitError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A setting, config file or plugin that cannot be used as given. */
export class ConfigError extends ExitError {
  constructor(message: string) {
    super(message, ExitCode.config);
  }
}

/** What `plan`, logs and errors show instead of a secret setting's value. */
export const REDACTED = '[redacted]';
const ECHO_MAX_CHARS = 80;

/** A value as a message may show it: a secret hidden, a URL's credentials masked, anything long cut. */
export function echo(value: unknown, { secret = false } = {}): string {
  if (secret) return REDACTED;
  const text =
    JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? maskUserinfo(item) : item)) ??
    maskUrlCredentials(String(value));
  return text.length > ECHO_MAX_CHARS ? `${text.slice(0, ECHO_MAX_CHARS)}…(${text.length} chars)` : text;
}

// `scheme://`: where a URL's userinfo would start.
const SCHEME = /[a-z][a-z\d+.-]*:\/\//i;

/**
 * A setting's value with every URL's userinfo masked (`http://[redacted]@host`), strings in
 * arrays and objects too. A string is one value, so its URL may hold anything, spaces included:
 * everything from `scheme://` to the string's last `@` is masked. Not the userinfo WHATWG's
 * parser finds: in `http://user:p@ss/word@host` it stops at the first `/` (host `ss`), and the
 * rest of the password would show.
 */
export function maskSecrets(value: unknown): unknown {
  if (typeof value === 'string') return maskUserinfo(value);
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskSecrets(item)]));
  return value;
}

/**
 * A text with every URL's userinfo masked. A URL here runs from its `scheme://` to the next space
 * (in a JSON text, `json`, such as a log line: or the `"` that ends its string), and everything up
 * to its last `@` is masked, whatever the password holds (`@`, `/`, `#`, `?`, `"`). A space inside
 * a password is the one thing a text cannot show the end of; settings' values are masked whole
 * (maskSecrets) before they reach a message.
 */
export function maskUrlCredentials(text: string, { json = false } = {}): string {
  let out = '';
  let at = 0;
  for (const match of text.matchAll(new RegExp(SCHEME.source, 'gi'))) {
    if (match.index < at) continue;
    let end = match.index + match[0].length;
    while (end < text.length && !/\s/.test(text[end]!) && !(json && text[end] === '"'))
      end += json && text[end] === '\\' ? 2 : 1;
    end = Math.min(end, text.length);
    out += text.slice(at, match.index) + maskUserinfo(text.slice(match.index, end));
    at = end;
  }
  return at === 0 ? text : out + text.slice(at);
}

/** Everything between the first `scheme://` and the last `@` after it, masked. */
function maskUserinfo(url: string): string {
  const scheme = SCHEME.exec(url);
  if (!scheme) return url;
  const start = scheme.index + scheme[0].length;
  const last = url.lastIndexOf('@');
  return last < start ? url : `${url.slice(0, start)}${REDACTED}${url.slice(last)}`;
}

/** `name=value is invalid: expected …`, the one shape every bad setting is reported in. */
export function invalidSetting(name: string, value: unknown, expected: string, { secret = false } = {}): ConfigError {
  return new ConfigError(`${name}=${echo(value, { secret })} is invalid: expected ${expected}`);
}

/** An error's message (or whatever was thrown, as text); also an abort's reason in a few words. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first line of an error's message: enough to name the problem without a stack trace. */
export function firstLine(error: unknown): string {
  const text = errorText(error);
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? text
  );
}
