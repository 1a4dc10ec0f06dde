import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminReply, AdminRoute } from './admin-routes.ts';
import { listenHttp } from './http-endpoint.ts';
import { connectionManagerStats, listenerStats, trackConnection, trackRequest } from './http-stats.ts';
import type { StatStore } from './stats.ts';
import type { AdminCall, AdminFault } from './types.ts';

export interface AdminOptions {
  host: string;
  port: number;
  routes: AdminRoute[];
  stats: StatStore;
  /** Read on every request so a test can change faults while the sim runs. */
  faults: Record<string, AdminFault>;
  onCall(call: AdminCall): void;
  onAnswer(call: AdminCall): void;
}

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

/** The admin listener; its traffic counts under `http.admin.*`, never under the ingress prefix. */
export async function startAdmin(options: AdminOptions): Promise<AdminServer> {
  const cm = connectionManagerStats(options.stats, 'admin');
  const listener = listenerStats(options.stats, 'admin');
  const routes = new Map(options.routes.map((r) => [r.path, r]));
  const help = helpText(options.routes);
  const closing = new AbortController();

  async function answer(method: string, path: string, params: URLSearchParams): Promise<AdminReply> {
    const fault = Object.hasOwn(options.faults, path) ? options.faults[path] : undefined;
    if (fault) {
      if (fault.delayMs) await sleep(fault.delayMs, undefined, { signal: closing.signal });
      return { status: fault.status, body: fault.body ?? '', stream: fault.stream };
    }
    if (path === '/help') return { status: 200, body: help };
    const route = routes.get(path);
    if (!route) return { status: 404, body: `invalid path. ${help}` };
    if (route.mutates && method !== 'POST') {
      return { status: 405, body: `Method ${method} not allowed, POST required.` };
    }
    return route.handle(params);
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    trackRequest(res, cm);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const call: AdminCall = { method: req.method ?? 'GET', path, query, status: 0, at: Date.now() };
    options.onCall(call);
    req.resume();
    answer(call.method, path, parseQuery(query)).then(
      (reply) => {
        send(res, reply);
        call.status = reply.status;
        options.onAnswer(call);
      },
      // Only a delayed fault can reject, when the sim closes; its connection is gone by then.
      () => res.destroy(),
    );
  }

  const endpoint = await listenHttp(options.host, options.port, {
    onRequest,
    onConnection: (socket) => trackConnection(socket, [cm, listener]),
  });

  return {
    url: endpoint.url,
    async close() {
      closing.abort();
      await endpoint.close();
    },
  };
}

function send(res: ServerResponse, reply: AdminReply): void {
  if (reply.stream) {
    sendEndless(res, reply);
    return;
  }
  if (reply.after) res.once('close', reply.after);
  res.writeHead(reply.status, {
    'content-type': reply.json ? 'application/json' : 'text/plain; charset=UTF-8',
    'content-length': Buffer.byteLength(reply.body),
    'cache-control': 'no-cache, max-age=0',
    'x-content-type-options': 'nosniff',
    server: 'envoy',
  });
  res.end(reply.body);
}

/** A fault's answer that never ends (chunked, no length): it stops only when the client or the sim closes the connection. */
function sendEndless(res: ServerResponse, { status, body, stream }: AdminReply): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=UTF-8', server: 'envoy' });
  const text = body || 'x';
  if (stream === 'stall') {
    res.write(text);
    return;
  }
  // About 64 KB a write, written whenever the client has read the last one.
  const chunk = Buffer.from(text.repeat(Math.ceil(65_536 / Buffer.byteLength(text))));
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

/**
 * Percent-decodes names and values but, unlike URLSearchParams, leaves '+' alone: a `?filter=`
 * regex such as `rq_[0-9]+` must reach the matcher intact.
 */
function parseQuery(query: string): URLSearchParams {
  const params = new URLSearchParams();
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const [name, value] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    params.append(decode(name), decode(value));
  }
  return params;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function helpText(routes: AdminRoute[]): string {
  const entries = [...routes, { path: '/help', help: 'print out list of admin commands', mutates: false }];
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  return `admin commands are:\n${entries.map((e) => `  ${e.path}${e.mutates ? ' (POST)' : ''}: ${e.help}\n`).join('')}`;
}
