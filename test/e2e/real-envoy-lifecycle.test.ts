import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startToyApp, type ToyApp } from '@task-helper/envoy-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { runHelper, startHelper } from '../support/helper-process.ts';
import { envoyRelease } from '../support/envoy-binary.ts';
import {
  closeAllEnvoys,
  exampleBootstrap,
  exampleFlags,
  launchEnvoy,
  realEnvoyMissing,
  type EnvoyProcess,
} from '../support/real-envoy.ts';
import { startTask, type RealTask } from '../support/task.ts';

// The start stage, `task-helper health` and /drain_listeners against real Envoy (1.40, or ENVOY_BIN's).
const missing = realEnvoyMissing();
if (missing) console.warn(`skipping the real-Envoy lifecycle tests: ${missing}`);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
  await closeAllEnvoys();
});

async function task(envoyArgs: string[] = []): Promise<RealTask> {
  const started = await startTask({ envoy: 'example', envoyArgs });
  cleanups.push(() => started.close());
  return started;
}

/**
 * A REST xDS server that holds Envoy's first endpoint fetch until `release()`: Envoy waits for
 * that cluster (initial_fetch_timeout 0: forever) and stays out of LIVE until then.
 */
async function heldEndpoints() {
  const held: ServerResponse[] = [];
  let released = false;
  let fetches = 0;
  const answer = (res: ServerResponse) => {
    const body = JSON.stringify({
      version_info: '1',
      type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      resources: [
        { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', cluster_name: 'held' },
      ],
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  };
  const server = createServer((req, res) => {
    req.resume();
    fetches += 1;
    if (released) answer(res);
    else held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    port,
    get fetches() {
      return fetches;
    },
    release() {
      released = true;
      for (const res of held.splice(0)) answer(res);
    },
  };
}

const heldBootstrap = (xdsPort: number) => `
node: { id: task, cluster: orders }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  clusters:
    - name: xds
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: xds
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${xdsPort} } } } }] }]
    - name: held
      type: EDS
      connect_timeout: 1s
      eds_cluster_config:
        eds_config:
          resource_api_version: V3
          initial_fetch_timeout: 0s
          api_config_source: { api_type: REST, transport_api_version: V3, cluster_names: [xds], refresh_delay: 1s, request_timeout: 3600s }
`;

async function heldEnvoy(): Promise<{
  envoy: EnvoyProcess;
  xds: Awaited<ReturnType<typeof heldEndpoints>>;
  app: ToyApp;
}> {
  const xds = await heldEndpoints();
  const envoy = await launchEnvoy({ config: heldBootstrap(xds.port), waitFor: 'admin', args: ['--concurrency', '1'] });
  const app = await startToyApp();
  cleanups.push(() => app.close());
  return { envoy, xds, app };
}

describe.skipIf(missing)(`real Envoy ${envoyRelease()}: the start stage and \`task-helper health\``, () => {
  it('waits in onStart while Envoy waits for its first endpoint fetch, logs ready once Envoy is LIVE, and drains on SIGTERM', async () => {
    const { envoy, xds, app } = await heldEnvoy();
    const before = await envoy.admin('GET', '/ready');
    expect(before.status).toBe(503);
    const heldState = before.body.trim();
    expect(['PRE_INITIALIZING', 'INITIALIZING']).toContain(heldState);

    const env = { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port), DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' };
    const health = await runHelper(['health'], { env });
    expect({ code: health.code, line: health.lines[0]?.msg }).toEqual({
      code: 1,
      line: `not healthy: envoy: envoy is ${heldState}, not LIVE or DRAINING`,
    });

    const helper = startHelper(['run'], { env });
    expect(await helper.waitForLog('waiting for envoy to be live')).toMatchObject({
      state: heldState,
      plugin: 'envoy',
      hook: 'onStart',
    });
    await expect
      .poll(() => xds.fetches, { message: 'Envoy asking for the held endpoints', timeout: 10_000 })
      .toBeGreaterThan(0);
    expect(helper.lines.some((l) => l.msg === 'ready')).toBe(false);

    xds.release();
    const ready = await helper.waitForLog('ready');
    expect(ready.steps).toEqual([expect.objectContaining({ plugin: 'envoy', hook: 'onStart', outcome: 'ok' })]);
    expect((await envoy.admin('GET', '/ready')).body).toBe('LIVE\n');

    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(await envoy.admin('GET', '/ready')).toMatchObject({ status: 503, body: 'DRAINING\n' });
  });

  it('health exits 0 while Envoy is LIVE and still once it is DRAINING: a draining Envoy is alive', async () => {
    const { envoy, env } = await task();
    const live = await runHelper(['health'], { env });
    expect({ code: live.code, line: live.lines[0]?.msg, stderr: live.stderr }).toEqual({
      code: 0,
      line: 'healthy: app-check, envoy',
      stderr: '',
    });

    expect(await envoy.admin('POST', '/healthcheck/fail')).toMatchObject({ status: 200, body: 'OK\n' });
    const draining = await runHelper(['health'], { env });
    expect({ code: draining.code, line: draining.lines[0]?.msg }).toEqual({
      code: 0,
      line: 'healthy: app-check, envoy',
    });
  });
});

const listenerStoppedCount = async (envoy: EnvoyProcess): Promise<number> =>
  Number(
    /listener_manager\.listener_stopped: (\d+)/.exec(
      (await envoy.admin('GET', '/stats?filter=listener_manager.listener_stopped')).body,
    )?.[1],
  );

describe.skipIf(missing)(`real Envoy ${envoyRelease()}: /drain_listeners?graceful`, () => {
  it('closes the listeners when --drain-time-s ends, unless skip_exit; Envoy keeps running and /ready stays LIVE either way', async () => {
    // 3 s: time enough, on a busy machine, to see both still accepting before the first closes.
    const [plain, skipping] = await Promise.all([task(['--drain-time-s', '3']), task(['--drain-time-s', '3'])]);
    await Promise.all([
      plain.envoy.admin('POST', '/drain_listeners?graceful'),
      skipping.envoy.admin('POST', '/drain_listeners?graceful&skip_exit'),
    ]);

    // During the graceful period both accept, and ask callers to close (immediate drain strategy).
    for (const { listenerUrl } of [plain, skipping]) {
      const response = await fetch(`${listenerUrl}/`);
      expect([response.status, response.headers.get('connection')]).toEqual([200, 'close']);
    }

    await expect
      .poll(() => listenerStoppedCount(plain.envoy), {
        message: 'Envoy closing its listeners after a 3 s graceful drain',
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    await expect(fetch(`${plain.listenerUrl}/`)).rejects.toThrow();
    // The other Envoy got its call at the same moment, with the same drain time: its listener still serves.
    expect(await listenerStoppedCount(skipping.envoy)).toBe(0);
    expect((await fetch(`${skipping.listenerUrl}/`)).status).toBe(200);
    for (const { envoy } of [plain, skipping]) {
      expect(envoy.child.exitCode).toBeNull();
      expect((await envoy.admin('GET', '/ready')).body).toBe('LIVE\n');
    }
  });
});

/** A plain-HTTP call through Envoy's egress listener as an HTTP proxy (what HTTP_PROXY makes a client do). */
function viaProxy(proxyUrl: string, target: string): Promise<{ status: number; body: string }> {
  const proxy = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: proxy.hostname,
        port: proxy.port,
        path: target,
        headers: { host: new URL(target).host, connection: 'close' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => void (body += chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.once('error', reject).end();
  });
}

describe.skipIf(missing)(`real Envoy ${envoyRelease()}: the example's egress listener`, () => {
  it("carries the app's outbound HTTP calls, and keeps taking new ones while ENVOY_DRAIN_LISTENERS=inbound drains the ingress", async () => {
    const { envoy } = await task(['--drain-time-s', '0']);
    const upstream = await startToyApp();
    cleanups.push(() => upstream.close());
    const egress = envoy.listeners.egress!;
    expect(await viaProxy(egress, `${upstream.url}/orders`)).toEqual({ status: 200, body: 'hello from the app' });

    expect((await envoy.admin('POST', '/drain_listeners?graceful&skip_exit&inboundonly')).status).toBe(200);
    expect(await viaProxy(egress, `${upstream.url}/orders`)).toEqual({ status: 200, body: 'hello from the app' });
    expect(await listenerStoppedCount(envoy)).toBe(0);
  });
});

describe.skipIf(missing)('real Envoy 1.40 restarting at the stop', () => {
  it('the POST is retried until its deadline, not three times: an Envoy down for 1.5 s and back on its admin port takes it', async () => {
    const first = await task();
    const adminPort = new URL(first.envoy.adminUrl).port;
    const helper = startHelper(['run'], {
      // The ingress stays open after the exit, so the check at the end can ask it (the close has its own tests).
      env: { ...first.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '1', STOP_TIMEOUT: '20', ENVOY_CLOSE_INBOUND: 'false' },
    });
    await helper.waitForLog('ready');
    await first.envoy.close();
    helper.kill('SIGTERM');
    // Four retries: 1.5 s of backoff (100 + 200 + 400 + 800 ms), past the three a fixed count allowed.
    await helper.waitForLog((l) => l.msg === 'envoy admin request retry' && l.retry === 4);
    expect(helper.lines.some((l) => l.msg.startsWith('envoy health check failed'))).toBe(false);
    // The same Envoy config, started again on the same admin port, as a container restart would.
    const second = await launchEnvoy({
      config: exampleBootstrap({ admin: Number(adminPort), ingress: 0, egress: 0, app: first.app.port }),
      args: [...exampleFlags(), '--concurrency', '1'],
    });
    cleanups.push(() => second.close());
    const failed = await helper.waitForLog('envoy health check failed: callers will stop routing here', 15_000);
    // The retries while nothing listened on the admin port (what comes after may meet Envoy starting).
    expect(
      helper.lines
        .filter((l) => l.msg === 'envoy admin request retry')
        .slice(0, 4)
        .map((l) => l.error),
    ).toEqual(Array(4).fill('ECONNREFUSED'));
    expect((await helper.exited).code).toBe(0);
    expect(failed.plugin).toBe('envoy');
    // Envoy has failed its health check: the ingress answers the health path itself, 503.
    const check = await fetch(`${second.listeners.ingress}/ping/ping`, { signal: AbortSignal.timeout(5_000) });
    expect(check.status).toBe(503);
  });
});
