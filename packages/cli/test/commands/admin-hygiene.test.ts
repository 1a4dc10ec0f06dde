import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runHelper, startHelper } from '../../../../test/support/helper-process.ts';

/** A stand-in for Envoy's admin API answering in ways a real Envoy does not; it records each request. */
async function standIn(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const live = (req: IncomingMessage, res: ServerResponse): boolean => {
  if (req.method !== 'GET' || req.url !== '/ready') return false;
  res.end('LIVE\n');
  return true;
};

describe('redirects from the admin API are never followed', () => {
  it('a 307 on POST /healthcheck/fail is a failed step (exit 1), and nothing is sent to where it points', async () => {
    const elsewhere = await standIn((_req, res) => res.end('OK\n'));
    const admin = await standIn((req, res) => {
      if (live(req, res)) return;
      res.writeHead(307, { location: `${elsewhere.url}${req.url}` }).end();
    });
    const helper = startHelper(['run'], {
      env: { ENVOY_ADMIN_URL: admin.url, APP_CHECK: 'false', DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(1);
    expect(elsewhere.requests).toEqual([]);
    // The inbound listeners' close at the end gets a 307 too, never followed either.
    expect(admin.requests.filter((r) => r.startsWith('POST'))).toEqual([
      'POST /healthcheck/fail',
      'POST /drain_listeners?inboundonly',
    ]);
    const finished = await helper.waitForLog('drain finished');
    expect(finished.steps).toContainEqual(
      expect.objectContaining({
        plugin: 'envoy',
        hook: 'drain',
        outcome: 'failed',
        error: expect.stringContaining('HTTP 307'),
      }),
    );
    expect(helper.lines.some((l) => l.msg.startsWith('envoy health check failed'))).toBe(false);
  });
});

describe('task-helper health judges by status, reads little, prints one short line', () => {
  async function health(ENVOY_ADMIN_URL: string) {
    const { code, stdout } = await runHelper(['health'], { env: { ENVOY_ADMIN_URL, APP_CHECK: 'false' } });
    return { code, stdout };
  }

  it('a 500 whose body says LIVE is not healthy', async () => {
    const admin = await standIn((_req, res) => res.writeHead(500).end('LIVE\n'));
    expect(await health(admin.url)).toEqual({
      code: 1,
      stdout: 'not healthy: envoy: envoy is HTTP 500, not LIVE or DRAINING\n',
    });
  });

  it('a huge or multi-line body is neither echoed nor read to the end', async () => {
    const big = await standIn((_req, res) => res.writeHead(503).end(`INITIALIZING\n${'x'.repeat(1_000_000)}`));
    expect(await health(big.url)).toEqual({
      code: 1,
      stdout: 'not healthy: envoy: envoy is HTTP 503, not LIVE or DRAINING\n',
    });
  });

  it('an answer that never ends is judged on its first bytes, not timed out', async () => {
    const endless = await standIn((_req, res) => {
      res.writeHead(503);
      const timer = setInterval(() => res.write('x'.repeat(1024)), 1);
      res.on('close', () => clearInterval(timer));
    });
    expect(await health(endless.url)).toEqual({
      code: 1,
      stdout: 'not healthy: envoy: envoy is HTTP 503, not LIVE or DRAINING\n',
    });
  });

  it('a 200 LIVE whose answer never ends is judged by its status line and first bytes: healthy', async () => {
    const stalled = await standIn((_req, res) => {
      res.writeHead(200);
      res.write('LIVE\n');
    });
    expect(await health(stalled.url)).toEqual({ code: 0, stdout: 'healthy: envoy\n' });
  });
});
