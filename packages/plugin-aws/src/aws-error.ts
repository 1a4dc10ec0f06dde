import { firstLine } from '@task-helper/core';

/** What a failed call needs to say how to fix it: the IAM action and the resource it must be allowed on. */
export interface CallFix {
  api: string;
  permission: string;
  resource: string;
  /** The AWS service's endpoint name, for the network advice (`servicediscovery`, `elasticloadbalancing`, `ecs`). */
  endpoint: string;
}

const ACCESS = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'UnauthorizedException']);
const CREDENTIALS = new Set([
  'CredentialsProviderError',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
]);
const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded']);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
]);

/** The AWS error's code (`ThrottlingException`), or a network error's (`ECONNREFUSED`). */
export function errorName(error: unknown): string {
  const { name, code, $metadata } = (error ?? {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (typeof code === 'string' && NETWORK.has(code)) return code;
  // An answer whose error body the SDK could not read (moto answers JSON APIs' IAM denials in XML).
  if (name === 'SyntaxError' && $metadata?.httpStatusCode !== undefined) return `HTTP ${$metadata.httpStatusCode}`;
  return typeof name === 'string' ? name : 'Error';
}

/**
 * One line for the `step failed` log: the API, the error and the fix (the IAM permission, the
 * network route). An abort passes through unchanged, so the runner reports what stopped the call.
 */
export function explainAwsError(error: unknown, fix: CallFix, region: string): Error {
  const name = errorName(error);
  if (name === 'AbortError') return error as Error;
  const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const said = name.startsWith('HTTP ')
    ? `${fix.api} failed: ${name}, with an unreadable error body`
    : `${fix.api} failed: ${name}: ${firstLine(error)}`;
  const advice =
    ACCESS.has(name) || name === 'HTTP 403'
      ? `allow ${fix.permission} on ${fix.resource} in the task role (taskRoleArn)`
      : CREDENTIALS.has(name)
        ? 'give the task a task role (taskRoleArn): the helper uses the default credential chain'
        : THROTTLED.has(name)
          ? `AWS throttled the call${attempts ? ` ${attempts} times` : ''}, retries included; stagger the tasks that stop at once (the service's deployment configuration) or raise the API's quota`
          : NETWORK.has(name)
            ? `the task cannot reach ${fix.endpoint}.${region}.amazonaws.com: give its subnets a route (NAT gateway or a VPC endpoint for ${fix.endpoint}), or fix AWS_ENDPOINT_URL`
            : undefined;
  return new Error(advice === undefined ? said : `${said}; fix: ${advice}`);
}
