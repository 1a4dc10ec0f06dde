import { Agent, request } from 'node:http';

/**
 * Steady keep-alive HTTP/1.1 load, as callers behind a load balancer send it: `concurrency` loops,
 * each sending one request at a time on a keep-alive connection, pausing `pauseMs` between two.
 * Every response, non-200, reset/error and timeout is counted; nothing is retried.
 */

export interface LoadOptions {
  concurrency?: number;
  /** Pause between two requests of one loop (pacing, so the load stays steady on a small machine). */
  pauseMs?: number;
  /** Per request, headers to body end; a request still running then counts as a timeout. */
  timeoutMs?: number;
  path?: string;
  /** Send to this unix socket instead of baseUrl's host and port (a caller in a container: nothing published on the host). */
  socketPath?: string;
}

export const defaultLoad = Object.freeze({ concurrency: 4, pauseMs: 5, timeoutMs: 2_000, path: '/' });

export type Outcome =
  | { kind: 'ok'; status: 200; servedBy: string; startedAt: number; at: number; slowMs?: number }
  | { kind: 'status'; status: number; servedBy: string; body: string; startedAt: number; at: number; slowMs?: number }
  | { kind: 'error'; code: string; startedAt: number; at: number; slowMs?: number }
  | { kind: 'timeout'; startedAt: number; at: number; slowMs?: number };

export type Failure = Exclude<Outcome, { kind: 'ok' }>;

export interface LoadStats {
  /** Requests that got an answer, an error or a timeout. */
  completed: number;
  ok: number;
  /** Answers other than 200, by status. */
  statuses: Record<number, number>;
  /** Resets and other errors, by code. */
  errors: Record<string, number>;
  timeouts: number;
  /** 200s by the HAProxy server that answered (`x-served-by`). */
  okByServer: Record<string, number>;
  /** When the last request each server answered 200 was sent (Date.now()). */
  lastOkSentAt: Record<string, number>;
  /** When the last 200 each server answered came back (Date.now()). */
  lastOkAt: Record<string, number>;
  /** Every outcome that was not a 200, in completion order. */
  failures: Failure[];
}

export interface Load {
  readonly stats: LoadStats;
  /** Sends one `GET /slow?ms=N` (pinned to a task if `pinTask`) outside the loops; it counts in the stats too. */
  slow(ms: number, pinTask?: string): Promise<Outcome>;
  /** Resolves once `test(stats)` holds (checked after every completed request); rejects after `timeoutMs`. */
  waitFor(test: (stats: LoadStats) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Stops the loops, waits for every request in flight (slow ones included), and closes the connections. */
  stop(): Promise<LoadStats>;
}

export function startLoad(baseUrl: string, options: LoadOptions = {}): Load {
  const { concurrency, pauseMs, timeoutMs, path, socketPath } = { ...defaultLoad, ...options };
  const target = new URL(baseUrl);
  const destination = socketPath ? { socketPath } : { host: target.hostname, port: target.port };
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const slowAgent = new Agent({ keepAlive: true });
  const stats: LoadStats = {
    completed: 0,
    ok: 0,
    statuses: {},
    errors: {},
    timeouts: 0,
    okByServer: {},
    lastOkSentAt: {},
    lastOkAt: {},
    failures: [],
  };
  const waiters = new Set<() => void>();
  const inFlight = new Set<Promise<Outcome>>();
  let running = true;

  function send(
    agentToUse: Agent,
    requestPath: string,
    limitMs: number,
    headers: Record<string, string> = {},
    slowMs?: number,
  ): Promise<Outcome> {
    const startedAt = Date.now();
    const extra = slowMs === undefined ? {} : { slowMs };
    const promise = new Promise<Outcome>((resolve) => {
      let settled = false;
      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const req = request({ ...destination, path: requestPath, agent: agentToUse, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          const servedBy = String(res.headers['x-served-by'] ?? '');
          const at = Date.now();
          if (res.statusCode === 200) settle({ kind: 'ok', status: 200, servedBy, startedAt, at, ...extra });
          else
            settle({
              kind: 'status',
              status: res.statusCode ?? 0,
              servedBy,
              body: Buffer.concat(chunks).toString().slice(0, 200),
              startedAt,
              at,
              ...extra,
            });
        });
        res.once('error', (error: NodeJS.ErrnoException) =>
          settle({ kind: 'error', code: error.code ?? error.message, startedAt, at: Date.now(), ...extra }),
        );
      });
      req.once('error', (error: NodeJS.ErrnoException) =>
        settle({ kind: 'error', code: error.code ?? error.message, startedAt, at: Date.now(), ...extra }),
      );
      const timer = setTimeout(() => {
        settle({ kind: 'timeout', startedAt, at: Date.now(), ...extra });
        req.destroy();
      }, limitMs);
      req.end();
    }).then((outcome) => {
      record(outcome);
      return outcome;
    });
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
    return promise;
  }

  function record(outcome: Outcome): void {
    stats.completed += 1;
    if (outcome.kind === 'ok') {
      stats.ok += 1;
      stats.okByServer[outcome.servedBy] = (stats.okByServer[outcome.servedBy] ?? 0) + 1;
      stats.lastOkSentAt[outcome.servedBy] = Math.max(stats.lastOkSentAt[outcome.servedBy] ?? 0, outcome.startedAt);
      stats.lastOkAt[outcome.servedBy] = Math.max(stats.lastOkAt[outcome.servedBy] ?? 0, outcome.at);
    } else {
      stats.failures.push(outcome);
      if (outcome.kind === 'status') stats.statuses[outcome.status] = (stats.statuses[outcome.status] ?? 0) + 1;
      else if (outcome.kind === 'error') stats.errors[outcome.code] = (stats.errors[outcome.code] ?? 0) + 1;
      else stats.timeouts += 1;
    }
    for (const wake of waiters) wake();
  }

  async function loop(): Promise<void> {
    while (running) {
      await send(agent, path, timeoutMs);
      if (running && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
  const loops = Array.from({ length: concurrency }, () => loop());

  return {
    stats,
    slow: (ms, pinTask) =>
      send(slowAgent, `/slow?ms=${ms}`, ms + timeoutMs, pinTask ? { 'x-pin-task': pinTask } : {}, ms),
    waitFor(test, waitMs = 5_000, what = 'load condition') {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!test(stats)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what}: not met within ${waitMs} ms; load so far: ${summarizeLoad(stats)}`));
        }, waitMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      agent.destroy();
      slowAgent.destroy();
      return stats;
    },
  };
}

/** Failed requests: every outcome that was not a 200. */
export const failureCount = (stats: LoadStats): number => stats.failures.length;

/** One line for assertion messages and bench logs. */
export function summarizeLoad(stats: LoadStats): string {
  const parts = [
    `${stats.completed} requests`,
    `${stats.ok} ok (${Object.entries(stats.okByServer)
      .map(([s, n]) => `${s || '?'}: ${n}`)
      .join(', ')})`,
  ];
  for (const [status, n] of Object.entries(stats.statuses)) parts.push(`${n}× HTTP ${status}`);
  for (const [code, n] of Object.entries(stats.errors)) parts.push(`${n}× ${code}`);
  if (stats.timeouts > 0) parts.push(`${stats.timeouts}× timeout`);
  return parts.join(', ');
}
