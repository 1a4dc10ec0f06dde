import type { IncomingMessage } from 'node:http';
import { errorText, httpGet, type HookContext, type HttpAnswer } from '@task-helper/core';

export const adminRequestDefaults = Object.freeze({
  /**
   * Per GET attempt, until the status line: a local admin API answers in milliseconds, so a second
   * means it is stuck. A POST changes Envoy's state even when the answer is slow, so its attempts
   * get all the time the request's deadline allows: a slow answer is not a failure.
   */
  attemptTimeoutMs: 1_000,
  /** First backoff; doubles each retry up to `maxBackoffMs`. Retries go on until the request's deadline. */
  backoffMs: 100,
  maxBackoffMs: 1_000,
  /** A GET whose caller has no nearer deadline (the traffic watch outlives its tap) stops retrying after this. */
  getDeadlineMs: 3_000,
  /** An answer's body is read for at most this long after its status line; the rest is not read. */
  bodyTimeoutMs: 1_000,
  /** A POST is judged by its status line; of a failed answer's body only the start is read, to show it. */
  maxErrorBodyBytes: 4 * 1024,
  /**
   * The one GET is `/stats` with the traffic filter: two stats per connection manager, under 150
   * bytes each as JSON, so 1 MiB holds some 3,500 connection managers, past any real Envoy.
   */
  maxGetBodyBytes: 1024 * 1024,
});

/** Worth another attempt: Envoy overloaded or restarting, or something in between timing out. */
const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** The tap's logger, abortSignal and deadline (the whole request, retries included, must be over by then). */
type AdminRequest = Pick<HookContext, 'logger' | 'abortSignal' | 'deadline'>;

/** A failed admin request, described in one line with its status and body when Envoy answered. */
class AdminRequestError extends Error {
  override readonly name = 'AdminRequestError';
}

/**
 * Envoy's admin API over node:http. State-changing endpoints are POST only (Envoy answers a GET
 * with 405 and does nothing); every POST here is idempotent, so it is retried like a GET. A 3xx
 * is never followed (it would POST /healthcheck/fail to some other host), and a 405 or 404 is
 * never retried: it cannot get better.
 *
 * Not ky, nor the fetch it stands on: fetch's first requests take a helper's peak memory about
 * 26-36 MB past idle (undici loading; node:http, about 5 MB), more than the whole stop may add
 * (20 MB), and ky reads an error's body itself, up to 10 MB for up to 10 s an attempt.
 */
export interface AdminClient {
  /**
   * Resolves on a 2xx status line, without waiting for the body. Retried on errors, timeouts and
   * 5xx, with capped backoff, until the deadline; rejects with AdminRequestError.
   */
  post(path: string, request: AdminRequest): Promise<void>;
  /** The body, whole (at most maxGetBodyBytes, within bodyTimeoutMs of its status line), retried as `post` is. */
  get(path: string, request: AdminRequest): Promise<string>;
  /** One attempt within a second, whatever the status (for `/ready`, whose 503 is an answer), over a plain socket. */
  probe(path: string, request: AdminRequest): Promise<HttpAnswer>;
  /** Loads node:http in the background, so the drain's first POST does not pay for it. */
  warm(): void;
}

interface Answer {
  status: number;
  body: string;
  /** Why the body was cut short, if it was. */
  cut?: string;
}

// Loaded at the first request (process.getBuiltinModule, as http-get does for node:net): an idle helper never carries it.
let http: typeof import('node:http') | undefined;
const loadHttp = (): typeof import('node:http') => (http ??= process.getBuiltinModule('node:http'));

/**
 * One attempt, its status line due within `headersWithinMs`. A POST's 2xx resolves at its status
 * line; any other answer's body is read, bounded. Rejects with code TIMEOUT when the status line is late.
 */
function attempt(url: URL, method: 'GET' | 'POST', signal: AbortSignal, headersWithinMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = loadHttp().request(url, { method, signal });
    const late = setTimeout(
      () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })),
      Math.max(1, Math.min(headersWithinMs, 2 ** 31 - 1)),
    );
    // `on`, not `once`: a request destroyed after its answer began may report more than one error.
    req.on('error', (error) => {
      clearTimeout(late);
      reject(error);
    });
    req.once('response', (res) => {
      clearTimeout(late);
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      if (ok && method === 'POST') {
        res.destroy();
        resolve({ status, body: '' });
        return;
      }
      void readBounded(res, ok ? adminRequestDefaults.maxGetBodyBytes : adminRequestDefaults.maxErrorBodyBytes).then(
        ({ body, cut }) => resolve({ status, body, ...(cut === undefined ? {} : { cut }) }),
      );
    });
    req.end();
  });
}

/** At most `maxBytes` of the body, within bodyTimeoutMs; past either, the connection is closed. */
function readBounded(res: IncomingMessage, maxBytes: number): Promise<{ body: string; cut?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (cut?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      res.removeAllListeners('data');
      if (cut !== undefined) res.destroy();
      const body = Buffer.concat(chunks).subarray(0, maxBytes).toString();
      resolve(cut === undefined ? { body } : { body, cut });
    };
    const timer = setTimeout(
      () => finish(`not over ${adminRequestDefaults.bodyTimeoutMs} ms after its status line`),
      adminRequestDefaults.bodyTimeoutMs,
    );
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) finish(`longer than ${maxBytes} bytes`);
    });
    res.once('end', () => finish());
    res.once('close', () => finish(res.complete ? undefined : 'cut off'));
    res.on('error', () => undefined);
  });
}

/** `ms`, or until `signal` fires; resolves false then. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (waited: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(waited);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createAdminClient(adminUrl: string): AdminClient {
  /** The 2xx answer; every failure, once retries are over, as one AdminRequestError line. */
  async function request(
    method: 'GET' | 'POST',
    path: string,
    { logger, abortSignal, deadline }: AdminRequest,
  ): Promise<Answer> {
    const url = new URL(path, adminUrl);
    const started = Date.now();
    const until = method === 'GET' ? Math.min(deadline, started + adminRequestDefaults.getDeadlineMs) : deadline;
    const fail = (why: string, attempts: number): AdminRequestError =>
      new AdminRequestError(
        `${method} ${adminUrl}${path} failed: ${why}${attempts > 1 ? ` (${attempts} attempts in ${Date.now() - started} ms)` : ''}`,
      );
    for (let attempts = 1; ; attempts += 1) {
      const left = until - Date.now();
      let why: string;
      let retry = true;
      try {
        const answer = await attempt(
          url,
          method,
          abortSignal,
          method === 'GET' ? Math.min(adminRequestDefaults.attemptTimeoutMs, left) : left,
        );
        if (abortSignal.aborted) throw fail(`aborted: ${errorText(abortSignal.reason)}`, attempts);
        if (answer.status >= 200 && answer.status < 300) {
          if (answer.cut !== undefined) throw fail(`the answer was ${answer.cut}`, attempts);
          return answer;
        }
        const shown = answer.body.trim();
        why = `HTTP ${answer.status} ${JSON.stringify(shown.length > 200 || answer.cut ? `${shown.slice(0, 200)}…` : shown)}`;
        retry = RETRIED_STATUSES.has(answer.status);
      } catch (error) {
        if (error instanceof AdminRequestError) throw error;
        if (abortSignal.aborted) throw fail(`aborted: ${errorText(abortSignal.reason)}`, attempts);
        const { code } = error as NodeJS.ErrnoException;
        why = code === 'TIMEOUT' ? 'no answer in time' : (code ?? errorText(error));
      }
      const backoff = Math.min(adminRequestDefaults.maxBackoffMs, adminRequestDefaults.backoffMs * 2 ** (attempts - 1));
      if (!retry || Date.now() + backoff >= until) throw fail(why, attempts);
      logger.warn({ path, retry: attempts, error: why }, 'envoy admin request retry');
      if (!(await pause(backoff, abortSignal))) throw fail(`aborted: ${errorText(abortSignal.reason)}`, attempts);
    }
  }

  return {
    async post(path, options) {
      await request('POST', path, options);
    },
    get: async (path, options) => (await request('GET', path, options)).body,
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
    warm: () => void loadHttp(),
  };
}
