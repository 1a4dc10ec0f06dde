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

/** `name=value is invalid: expected …`, the one shape every bad setting is reported in. */
export function invalidSetting(name: string, value: unknown, expected: string): ConfigError {
  return new ConfigError(`${name}=${JSON.stringify(value)} is invalid: expected ${expected}`);
}

/** The first line of an error's message: enough to name the problem without a stack trace. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text;
}
