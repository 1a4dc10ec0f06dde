import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpUrl } from './http-endpoint.ts';
import type { ToyApp, ToyAppOptions } from './types.ts';

/**
 * Node's 5 s default would close idle connections that the sim keeps pooled, and a request sent
 * on one just as it closes fails; a longer timeout makes that race rare in tests and benchmarks.
 */
const KEEP_ALIVE_MS = 65_000;

/** The app behind the sim: a health path, slow and streaming endpoints for in-flight requests, and a catch-all. */
export async function startToyApp(options: ToyAppOptions = {}): Promise<ToyApp> {
  const healthPath = options.healthPath ?? '/ping/ping';
  let requests = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    requests += 1;
    req.resume();
    const url = new URL(req.url ?? '/', 'http://app');
    const reply = (body: string) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.pathname === healthPath) return reply('pong');
    if (url.pathname === '/stream') {
      // Headers at once, the body after `ms`: a response Envoy has answered but not finished.
      const ms = Number(url.searchParams.get('ms') ?? 0) || 0;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('streamed');
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.end();
      }, ms);
      timers.add(timer);
      return;
    }
    if (url.pathname === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? 0) || 0;
      const timer = setTimeout(() => {
        timers.delete(timer);
        reply(`slept ${ms} ms`);
      }, ms);
      timers.add(timer);
      return;
    }
    reply('hello from the app');
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: httpUrl(options.host ?? '127.0.0.1', port),
    port,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
