import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeAllHaproxies,
  defaultHealthCheck,
  detectionLimitMs,
  haproxyMissing,
  startHaproxy,
} from '../support/haproxy.ts';
import { startLoad } from '../support/load.ts';
import { startTask, type SimTask } from '../support/task.ts';

// The drain tests are only as good as their harness: HAProxy must notice /healthcheck/fail within
// inter × fall, and the load client must count every kind of failure.
const noHaproxy = haproxyMissing();
if (noHaproxy) console.warn(`skipping the HAProxy harness tests: ${noHaproxy}`);

const tasks: SimTask[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await closeAllHaproxies();
  await Promise.all(tasks.splice(0).map((s) => s.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function twoTasks() {
  const [a, b] = [await startTask(), await startTask()];
  tasks.push(a, b);
  const haproxy = await startHaproxy({
    servers: [
      { name: 'a', url: a.envoy.listenerUrl },
      { name: 'b', url: b.envoy.listenerUrl },
    ],
  });
  return { a, b, haproxy };
}

describe.skipIf(noHaproxy)('HAProxy in front of two Envoy simulators', () => {
  it('starts with both tasks UP after a passed check, and spreads keep-alive load over both', async () => {
    const { haproxy } = await twoTasks();
    expect((await haproxy.servers()).map((s) => [s.name, s.status, s.checkStatus])).toEqual([
      ['a', 'UP', 'L7OK'],
      ['b', 'UP', 'L7OK'],
    ]);
    const load = startLoad(haproxy.url);
    await load.waitFor((s) => (s.okByServer.a ?? 0) >= 20 && (s.okByServer.b ?? 0) >= 20);
    const stats = await load.stop();
    expect(stats.failures).toEqual([]);
  });

  it('marks a task DOWN within inter × fall of its /healthcheck/fail, then routes everything to the other', async () => {
    const { a, haproxy } = await twoTasks();
    const load = startLoad(haproxy.url);
    await load.waitFor((s) => (s.okByServer.a ?? 0) >= 20);
    const failAt = Date.now();
    expect((await fetch(`${a.envoy.adminUrl}/healthcheck/fail`, { method: 'POST' })).status).toBe(200);

    const down = await haproxy.waitForLine(
      /Server tasks\/a is DOWN, reason: Layer7 wrong status, code: 503/,
      detectionLimitMs() + 2_000,
    );
    expect(down.at - failAt).toBeLessThanOrEqual(detectionLimitMs(defaultHealthCheck) + 250);
    const servedByA = load.stats.okByServer.a ?? 0;
    const completed = load.stats.completed;
    await load.waitFor((s) => s.completed >= completed + 200);
    const stats = await load.stop();
    // At most the requests already in flight at DOWN finish on A; none is sent there afterwards.
    expect((stats.okByServer.a ?? 0) - servedByA).toBeLessThanOrEqual(4);
    expect(stats.failures).toEqual([]);
  });
});

describe('the load client', () => {
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(handler!).listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('counts non-200 answers by status and resets by code, and retries nothing', async () => {
    let n = 0;
    const url = await serve((req, res) => {
      n += 1;
      if (n % 3 === 1) return void res.end('ok');
      if (n % 3 === 2) return void res.writeHead(503).end('down');
      req.socket.destroy();
    });
    const load = startLoad(url, { concurrency: 1 });
    await load.waitFor((s) => s.completed >= 30);
    const stats = await load.stop();
    expect(stats.completed).toBe(n);
    expect(stats.ok).toBe(Math.ceil(n / 3));
    expect(stats.statuses).toEqual({ 503: Math.floor((n + 1) / 3) });
    expect(stats.errors).toEqual({ ECONNRESET: Math.floor(n / 3) });
    expect(stats.failures).toHaveLength(n - stats.ok);
  });

  it('counts a request with no answer within its timeout as a timeout', async () => {
    const url = await serve(() => undefined);
    const load = startLoad(url, { concurrency: 2, timeoutMs: 100 });
    await load.waitFor((s) => s.timeouts >= 4);
    const stats = await load.stop();
    expect(stats.ok).toBe(0);
    expect(stats.timeouts).toBe(stats.completed);
    expect(stats.failures.every((f) => f.kind === 'timeout' && f.at - f.startedAt >= 99)).toBe(true);
  });
});
