import { ConfigError, httpUrl, type ResolvedConfig, type TaskMetadata } from '@task-helper/core';

/** What every AWS client here is built with; credentials come from the SDK's default chain (the task role). */
export interface AwsClientSettings {
  region: string;
  /** AWS_ENDPOINT_URL, which the SDK also honours itself; read here so `plan` shows it and a bad one fails at start. */
  endpoint: string | undefined;
  accountId: string | undefined;
}

export const awsDefaults = Object.freeze({
  /** One attempt's limit; the SDK retries (3 attempts, backoff) within the tap's timeout. */
  requestTimeoutMs: 5_000,
  connectionTimeoutMs: 2_000,
  /** How often an accepted change is checked until AWS reports it done. */
  pollMs: 1_000,
  /** The calls and the wait for AWS to confirm, together; the stop budget may end them sooner. */
  tapTimeoutMs: 30_000,
});

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const region = {
  expected: 'an AWS region such as us-east-1',
  parse: (raw: unknown) => (typeof raw === 'string' && REGION.test(raw) ? raw : undefined),
};

/** An http(s) URL without a user or password in it: the SDK signs requests with the task role, never with URL credentials. */
const endpointUrl = {
  expected: 'an http:// or https:// URL without user or password',
  parse: (raw: unknown, fromEnv: boolean) => {
    const url = httpUrl.parse(raw, fromEnv);
    return url !== undefined && new URL(url).username === '' && new URL(url).password === '' ? url : undefined;
  },
};

/**
 * The settings both plugins declare after their own: AWS_REGION, else the task's region (from its
 * ARN in the task metadata), else `fallback` (a target group ARN's); AWS_ENDPOINT_URL, which the
 * SDK also honours itself, read here so `plan` shows it and a bad one fails at start.
 */
export function awsSettings(
  fallback: (settings: Readonly<Record<string, unknown>>) => string | undefined = () => undefined,
) {
  return {
    region: {
      env: 'AWS_REGION',
      description:
        "the region the AWS calls go to; default the task's region, from the task metadata (target-groups outside ECS: the first target group ARN's)",
      parse: region,
      envOnly: true,
      default: (settings: Readonly<Record<string, unknown>>, config: ResolvedConfig) =>
        config.task?.region ?? fallback(settings),
    },
    endpoint: {
      env: 'AWS_ENDPOINT_URL',
      description:
        "another endpoint for the AWS calls (moto in the tests, a proxy; the SDK honours it too): an http(s) URL without user or password. Credentials always come from the SDK's default chain: the task role",
      parse: endpointUrl,
      envOnly: true,
    },
  } as const;
}

/** Checks the region is known and bundles what the clients are built with. */
export function awsClientSettings(
  plugin: string,
  settings: { region: string | undefined; endpoint: string | undefined },
  task: TaskMetadata | undefined,
): AwsClientSettings {
  if (settings.region === undefined)
    throw new ConfigError(`${plugin} needs an AWS region: set AWS_REGION (in ECS it is read from the task metadata)`);
  return { region: settings.region, endpoint: settings.endpoint, accountId: task?.accountId };
}

/** The options every client constructor here takes. */
export function clientConfig({ region, endpoint }: AwsClientSettings) {
  return {
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    requestHandler: {
      requestTimeout: awsDefaults.requestTimeoutMs,
      connectionTimeout: awsDefaults.connectionTimeoutMs,
    },
  };
}

export function matching(expected: string, valid: RegExp) {
  return { expected, parse: (raw: unknown) => (typeof raw === 'string' && valid.test(raw) ? raw : undefined) };
}
