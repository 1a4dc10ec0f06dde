import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { trafficStatsFilter } from '../../packages/plugin-envoy/src/traffic.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { targets, type Target, type TargetOptions } from './targets.ts';

// The same assertions against the real Envoy and the simulator (both stat sets): where they
// differ, the simulator is wrong and gets fixed, never this file.

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** node:http rather than fetch, so hop-by-hop headers such as Connection stay visible. */
function send(url: string, { method = 'GET', agent }: { method?: string; agent?: Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => void (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Resolves true if a TCP connection to the URL's port is accepted, false if refused. */
function accepts(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Stats and sockets settle a moment after the request that moves them: poll them for up to 5 s. */
const POLL = { timeout: 5_000, interval: 10 };

const MUTATING = ['/healthcheck/fail', '/healthcheck/ok', '/drain_listeners', '/quitquitquit', '/reset_counters'];

describe.each(targets)('Envoy admin and listener contract: $name', ({ available, start }) => {
  let target: Target | undefined;
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });
  const started = async (options?: TargetOptions) => (target = await start(options));
  const admin = (path: string, method = 'GET') => send(`${target!.adminUrl}${path}`, { method });
  const stats = async (filter: string): Promise<Map<string, number>> => {
    const reply = await admin(`/stats?format=json&filter=${encodeURIComponent(filter)}`);
    expect(reply.status).toBe(200);
    const parsed = JSON.parse(reply.body) as { stats: Array<{ name: string; value: number }> };
    return new Map(parsed.stats.map((s) => [s.name, s.value]));
  };
  const cm = (stat: string) => `http.${target!.statPrefix}.${stat}`;

  it.runIf(available)(
    '/ready and /server_info say LIVE, DRAINING after /healthcheck/fail, LIVE again after /healthcheck/ok',
    async () => {
      await started();
      const state = async () => {
        const ready = await admin('/ready');
        const info = await admin('/server_info');
        expect(info.headers['content-type']).toBe('application/json');
        return { ready: [ready.status, ready.body], info: JSON.parse(info.body) as Record<string, unknown> };
      };
      const live = await state();
      expect(live.ready).toEqual([200, 'LIVE\n']);
      expect(live.info).toMatchObject({
        state: 'LIVE',
        uptime_current_epoch: expect.stringMatching(/^\d+s$/),
        uptime_all_epochs: expect.stringMatching(/^\d+s$/),
      });
      // PyPI's 1.38.3 build says Modified.
      expect(live.info.version).toMatch(
        new RegExp(`^[0-9a-f]{40}/${target!.releasePattern}/(Clean|Modified)/RELEASE/BoringSSL$`),
      );

      for (let i = 0; i < 2; i += 1)
        expect(await admin('/healthcheck/fail', 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
      const draining = await state();
      expect(draining.ready).toEqual([503, 'DRAINING\n']);
      expect(draining.info.state).toBe('DRAINING');

      expect(await admin('/healthcheck/ok', 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
      const back = await state();
      expect(back.ready).toEqual([200, 'LIVE\n']);
      expect(back.info.state).toBe('LIVE');
    },
  );

  it.runIf(available)(
    '/healthcheck/fail: local 503 on the health path, the immediate-fail header and Connection: close on every answer',
    async () => {
      await started();
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const health = () => send(`${target!.listenerUrl}/ping/ping`, { agent });
        const other = () => send(`${target!.listenerUrl}/some/page`, { agent });

        for (const reply of [await health(), await other()]) {
          expect(reply.status).toBe(200);
          expect(reply.headers['x-envoy-immediate-health-check-fail']).toBeUndefined();
          expect(reply.headers.connection).not.toBe('close');
        }
        expect((await health()).body).toBe('pong'); // pass-through: the app answers while healthy

        await admin('/healthcheck/fail', 'POST');
        const failed = await health();
        expect(failed).toMatchObject({ status: 503, body: '' });
        expect(failed.headers).toMatchObject({
          'x-envoy-immediate-health-check-fail': 'true',
          connection: 'close',
          'content-length': '0',
        });
        const served = await other();
        expect(served).toMatchObject({ status: 200, body: 'hello from the app' });
        expect(served.headers).toMatchObject({ 'x-envoy-immediate-health-check-fail': 'true', connection: 'close' });

        await admin('/healthcheck/ok', 'POST');
        const restored = await health();
        expect(restored).toMatchObject({ status: 200, body: 'pong' });
        expect(restored.headers['x-envoy-immediate-health-check-fail']).toBeUndefined();
      } finally {
        agent.destroy();
      }
    },
  );

  it.runIf(available)('GET on a state-changing endpoint: 405 with the method named, and nothing changes', async () => {
    await started();
    for (const path of MUTATING) {
      const reply = await admin(path);
      expect([path, reply.status, reply.body]).toEqual([path, 405, 'Method GET not allowed, POST required.']);
      expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    }
    expect((await admin('/healthcheck/fail', 'PUT')).body).toBe('Method PUT not allowed, POST required.');
    expect(await admin('/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
    expect(await accepts(target!.listenerUrl)).toBe(true);
  });

  it.runIf(available)('an unknown admin path: 404 and the list of commands, POST-only ones marked', async () => {
    await started();
    const reply = await admin('/no_such_thing');
    expect(reply.status).toBe(404);
    expect(reply.body).toMatch(/^invalid path\. admin commands are:\n/);
    expect(reply.body).toContain('\n  /healthcheck/fail (POST): ');
    expect(reply.body).toContain('\n  /ready: ');
  });

  it.runIf(available)(
    '/stats?format=json: one "stats" list of {name, value}, sorted by name, counters and gauges alike',
    async () => {
      await started();
      const reply = await admin(
        `/stats?format=json&filter=${encodeURIComponent(`^http\\.${target!.statPrefix}\\.downstream_rq_(total|active|completed|[1-5]xx)$`)}`,
      );
      expect(reply.headers['content-type']).toBe('application/json');
      const body = JSON.parse(reply.body) as { stats: Array<Record<string, unknown>> };
      expect(Object.keys(body)).toEqual(['stats']);
      expect(body.stats).toEqual(
        ['1xx', '2xx', '3xx', '4xx', '5xx', 'active', 'completed', 'total'].map((s) => ({
          name: cm(`downstream_rq_${s}`),
          value: 0,
        })),
      );
      expect(await admin('/stats?format=json&filter=no_such_stat')).toMatchObject({
        status: 200,
        body: '{"stats":[]}',
      });
      const text = await admin(`/stats?filter=${encodeURIComponent('^server\\.state$')}`);
      expect(text.body).toBe('server.state: 0\n');
    },
  );

  it.runIf(available)(
    'which counters count health checks: total at once; tracing.health_check when over; never completed or the status classes',
    async () => {
      // The health path is a slow app path, passed through, so a health check can be caught in flight.
      await started({ healthPath: '/slow?ms=1000' });
      const names = [
        'downstream_rq_total',
        'downstream_rq_active',
        'downstream_rq_completed',
        'downstream_rq_2xx',
        'downstream_rq_5xx',
        'tracing.health_check',
      ];
      const read = async () => {
        const all = await stats(`^http\\.${target!.statPrefix}\\.`);
        return Object.fromEntries(names.map((n) => [n, all.get(cm(n))]));
      };
      const filterStats = async () =>
        [...(await stats(`^http\\.${target!.statPrefix}\\.health_check\\.`))].filter(([n]) =>
          /\.(request_total|ok|failed)$/.test(n),
        );
      const expectedFilterStats = (requestTotal: number, ok: number, failed: number) =>
        target!.statSet === '1.29'
          ? []
          : [
              [cm('health_check.failed'), failed],
              [cm('health_check.ok'), ok],
              [cm('health_check.request_total'), requestTotal],
            ];

      const check = send(`${target!.listenerUrl}/slow?ms=1000`);
      // The health check in flight.
      await expect.poll(read, POLL).toMatchObject({
        downstream_rq_active: 1,
        downstream_rq_total: 1,
        downstream_rq_completed: 0,
        'tracing.health_check': 0,
      });
      expect((await check).body).toBe('slept 1000 ms');
      // The health check counted.
      await expect.poll(read, POLL).toEqual({
        downstream_rq_total: 1,
        downstream_rq_active: 0,
        downstream_rq_completed: 0,
        downstream_rq_2xx: 0,
        downstream_rq_5xx: 0,
        'tracing.health_check': 1,
      });
      // 1.33+: the filter's own counters leave out checks passed through to the app.
      expect(await filterStats()).toEqual(expectedFilterStats(0, 0, 0));

      expect((await send(`${target!.listenerUrl}/page`)).status).toBe(200);
      await admin('/healthcheck/fail', 'POST');
      expect((await send(`${target!.listenerUrl}/slow?ms=1000`)).status).toBe(503);
      // The failed check counted.
      await expect.poll(read, POLL).toEqual({
        downstream_rq_total: 3,
        downstream_rq_active: 0,
        downstream_rq_completed: 1,
        downstream_rq_2xx: 1,
        downstream_rq_5xx: 0,
        'tracing.health_check': 2,
      });
      expect(await filterStats()).toEqual(expectedFilterStats(1, 0, 1));
      // 1.29 has no health check filter counters; 1.40's are checked above.
      const healthCheckStats = [...(await stats('health_check\\.'))];
      expect(target!.statSet === '1.29' ? healthCheckStats : []).toEqual([]);
    },
  );

  it.runIf(available)(
    "a caller's request counts in completed as its response headers go out, and stays active until its body ends",
    async () => {
      await started();
      const names = ['downstream_rq_total', 'downstream_rq_active', 'downstream_rq_completed', 'downstream_rq_2xx'];
      const read = async () => {
        const all = await stats(`^http\\.${target!.statPrefix}\\.downstream_rq_`);
        return Object.fromEntries(names.map((n) => [n, all.get(cm(n))]));
      };
      const streamed = send(`${target!.listenerUrl}/stream?ms=1000`);
      // The response headers out, the body not yet.
      await expect.poll(read, POLL).toEqual({
        downstream_rq_total: 1,
        downstream_rq_active: 1,
        downstream_rq_completed: 1,
        downstream_rq_2xx: 1,
      });
      expect((await streamed).body).toBe('streamed');
      await expect.poll(read, POLL).toMatchObject({ downstream_rq_active: 0 });
    },
  );

  it.runIf(available)('?filter= is RE2, partial match: what RE2 rejects is a 400, what RE2 accepts works', async () => {
    await started();
    for (const rejected of ['(', 'a++', '(a)\\1', 'server(?=\\.state)', '(?<!x)state']) {
      const reply = await admin(`/stats?filter=${encodeURIComponent(rejected)}`);
      // The reason follows from 1.38 on; 1.36 and 1.37 answer `Invalid re2 regex` alone.
      expect([rejected, reply.status, /^Invalid re2 regex(: |$)/.test(reply.body)]).toEqual([rejected, 400, true]);
    }
    const names = async (filter: string) => [...(await stats(filter)).keys()];
    expect(await names('(?P<what>server\\.stat)e$')).toEqual(['server.state']);
    expect(await names('(?i)^SERVER\\.STATE$')).toEqual(['server.state']);
    expect(await names('\\Aserver\\.state\\z')).toEqual(['server.state']);
    expect(await names('rq_completed')).toContain(cm('downstream_rq_completed'));
  });

  it.runIf(available)(
    "the helper's own stats filter (plugin-envoy) is RE2 and picks exactly the connection managers' stats",
    async () => {
      await started();
      const cmStats = [cm('downstream_rq_active'), cm('downstream_rq_completed')];
      expect([...(await stats(trafficStatsFilter([target!.statPrefix]))).keys()]).toEqual(cmStats);
      const all = [...(await stats(trafficStatsFilter([]))).keys()];
      expect(all.filter((n) => !n.startsWith('http.admin.'))).toEqual(cmStats);
    },
  );

  it.runIf(available).each(['/drain_listeners', '/drain_listeners?inboundonly'])(
    'POST %s: OK, new connections refused, open ones still served (told to close from 1.40 on), /ready unchanged',
    async (path) => {
      await started();
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        expect((await send(`${target!.listenerUrl}/`, { agent })).status).toBe(200);
        expect(await admin(path, 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
        await expect.poll(() => accepts(target!.listenerUrl), POLL).toBe(false);
        const open = await send(`${target!.listenerUrl}/`, { agent });
        // Node's server (the simulator) says keep-alive where Envoy says nothing.
        expect([open.status, open.headers.connection === 'close']).toEqual([200, target!.drainsWithoutGraceful]);
        expect(await admin('/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
      } finally {
        agent.destroy();
      }
    },
  );

  it.runIf(available)(
    'POST /drain_listeners?skip_exit: from 1.40 on, drains and keeps accepting; before, a 400 that changes nothing',
    async () => {
      await started();
      const reply = await admin('/drain_listeners?skip_exit', 'POST');
      // A keep-alive agent: without one Node asks for Connection: close itself.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const answered = await send(`${target!.listenerUrl}/`, { agent }).finally(() => agent.destroy());
      expect([reply.status, reply.body, answered.status, answered.headers.connection === 'close']).toEqual(
        target!.drainsWithoutGraceful ? [200, 'OK\n', 200, true] : [400, 'skip_exit requires graceful\n', 200, false],
      );
      expect(await accepts(target!.listenerUrl)).toBe(true);
    },
  );

  it.runIf(available)('POST /quitquitquit: OK, then Envoy exits cleanly', async () => {
    await started();
    expect(await admin('/quitquitquit', 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
    expect(await target!.quit).toBe(0);
    await expect.poll(() => accepts(target!.adminUrl), POLL).toBe(false);
  });
});
