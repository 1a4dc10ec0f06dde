import type { KyInstance } from 'ky';
import { errorText, httpGet, type HookContext, type HttpAnswer } from '@task-helper/core';

const adminRequestDefaults = Object.freeze({
  /**
   * Per GET attempt: a local admin API answers in milliseconds, so a second means it is stuck. A
   * POST changes Envoy's state even when the answer is slow, so its attempts get all the time the
   * request's deadline allows: a slow answer is not a failure.
   */
  attemptTimeoutMs: 1_000,
  retries: 3,
  /** First backoff; doubles each retry up to `maxBackoffMs`. */
  backoffMs: 100,
  maxBackoffMs: 1_000,
});

/** The tap's logger, abortSignal and deadline (the whole request, retries included, must be over by then). */
type AdminRequest = Pick<HookContext, 'logger' | 'abortSignal' | 'deadline'>;

/** A failed admin request, described in one line with its status and body when Envoy answered. */
class AdminRequestError extends Error {
  override readonly name = 'AdminRequestError';
}

/**
 * Envoy's admin API over ky. State-changing endpoints are POST only (Envoy answers a GET with
 * 405 and does nothing), so POSTs are retried explicitly: ky retries only idempotent methods by
 * default, and every POST here is idempotent. A 405 or 404 is never retried: it cannot get better.
 */
export interface AdminClient {
  /** Retried on errors, timeouts and 5xx; rejects with AdminRequestError when it does not get a 2xx. */
  post(path: string, request: AdminRequest): Promise<string>;
  get(path: string, request: AdminRequest): Promise<string>;
  /** One attempt within a second, whatever the status (for `/ready`, whose 503 is an answer), without loading ky. */
  probe(path: string, request: AdminRequest): Promise<HttpAnswer>;
  /**
   * Loads ky and opens fetch's connection machinery with one GET /ready, in the background, so the
   * drain's first POST does not pay for them (about 30 ms to load, 10 ms for a first request).
   */
  warm(): void;
}

export function createAdminClient(adminUrl: string): AdminClient {
  // ky (and the fetch it stands on) is loaded at the first request: loading it at start costs
  // about 6 MB and 25 ms that an idle helper would carry for the task's whole life.
  let loaded: Promise<{ client: KyInstance; describe: (error: unknown) => string }> | undefined;
  const load = () =>
    (loaded ??= import('ky').then(({ default: ky, isHTTPError, isNetworkError, isTimeoutError }) => ({
      client: ky.create({
        baseUrl: `${adminUrl}/`,
        timeout: adminRequestDefaults.attemptTimeoutMs,
        // A 3xx is a failed call: following it would POST /healthcheck/fail to some other host.
        redirect: 'manual',
        retry: {
          limit: adminRequestDefaults.retries,
          methods: ['post', 'get'],
          retryOnTimeout: true,
          delay: (attempt) => adminRequestDefaults.backoffMs * 2 ** (attempt - 1),
          backoffLimit: adminRequestDefaults.maxBackoffMs,
        },
      }),
      describe(error: unknown): string {
        if (isHTTPError(error))
          return `HTTP ${error.response.status} ${JSON.stringify(String(error.data ?? '').trim())}`;
        if (isTimeoutError(error)) return 'no answer in time';
        // The abortSignal's reason (core's AbortReason): "aborted: stop budget".
        if (error instanceof Error && error.name === 'AbortError') return `aborted: ${error.message}`;
        if (isNetworkError(error))
          return (error.cause as { cause?: { code?: string } } | undefined)?.cause?.code ?? error.message;
        return errorText(error);
      },
    })));

  async function request(
    method: 'get' | 'post',
    path: string,
    { logger, abortSignal, deadline }: AdminRequest,
  ): Promise<string> {
    const { client, describe } = await load();
    const remaining = deadline - Date.now();
    try {
      return await client(path.replace(/^\//, ''), {
        method,
        signal: abortSignal,
        ...(Number.isFinite(remaining)
          ? { totalTimeout: Math.max(1, Math.floor(remaining)), ...(method === 'post' ? { timeout: false } : {}) }
          : {}),
        hooks: {
          beforeRetry: [
            ({ error, retryCount }) =>
              void logger.warn({ path, retry: retryCount, error: describe(error) }, 'envoy admin request retry'),
          ],
        },
      }).text();
    } catch (error) {
      throw new AdminRequestError(`${method.toUpperCase()} ${adminUrl}${path} failed: ${describe(error)}`);
    }
  }

  return {
    post: (path, options) => request('post', path, options),
    get: (path, options) => request('get', path, options),
    async probe(path, { abortSignal }) {
      try {
        return await httpGet(`${adminUrl}${path}`, abortSignal, adminRequestDefaults.attemptTimeoutMs);
      } catch (error) {
        const { code, message } = error as NodeJS.ErrnoException;
        throw new AdminRequestError(
          `GET ${adminUrl}${path} failed: ${code === 'TIMEOUT' || code === undefined ? message : code}`,
        );
      }
    },
    warm: () =>
      void load()
        .then(({ client }) => client.get('ready', { retry: 0, throwHttpErrors: false }))
        .catch(() => undefined),
  };
}
