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
  const text = (JSON.stringify(value) ?? String(value)).replace(/\/\/[^/@\s"]*@/g, `//${REDACTED}@`);
  return text.length > ECHO_MAX_CHARS ? `${text.slice(0, ECHO_MAX_CHARS)}…(${text.length} chars)` : text;
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
