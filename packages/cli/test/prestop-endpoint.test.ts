import { get } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { definePlugin } from '@task-helper/core';
import { createTestRunner, recordingLogger } from '@task-helper/core/testing';
import delay from '@task-helper/plugin-delay';
import { PRESTOP_PATH, servePreStop } from '../src/prestop-endpoint.ts';
import { freePort } from '../../../test/support/free-port.ts';

// The endpoint as the kubelet's hook client meets it, on a real loopback socket, with the stop's
// waits on fake timers: the answer comes when the drain is over, however long that is.

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request, as the kubelet's client sends it: no timeout, the answer read whole. */
function request(port: number, path = PRESTOP_PATH, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => void (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

/** Settles with the answer, or stays `pending`: what a caller still waiting sees. */
const state = <T>(promise: Promise<T>) => {
  let settled: { value: T } | undefined;
  void promise.then((value) => void (settled = { value }));
  return () => settled?.value ?? 'pending';
};

/** Real sockets need real I/O turns between fake-timer steps; a deadline in real time (performance.now is not faked). */
const turn = () => new Promise((resolve) => setImmediate(resolve));
async function until(done: () => boolean, withinMs = 5_000): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!done() && performance.now() < deadline) await turn();
  expect(done()).toBe(true);
}

let failedAt: number | undefined;
const action = definePlugin({
  name: 'action',
  apply: (hooks) =>
    hooks.drain.tapPromise(
      { drainAction: true, plan: { label: 'the fail' } },
      async () => void (failedAt = Date.now()),
    ),
});
const broken = definePlugin({
  name: 'broken',
  apply: (hooks) =>
    hooks.afterDrain.tapPromise({}, async () => {
      throw new Error('notice not sent');
    }),
});

/** A runner with plugin-delay and a drain action, and its endpoint on a free loopback port. */
async function serve(stopTimeout: number, env: Record<string, string>, { failing = false } = {}) {
  const port = await freePort();
  const preStop = { host: '127.0.0.1', port };
  const plugins = [delay(), action(), ...(failing ? [broken()] : [])];
  const test = createTestRunner({ plugins, env, stopTimeout, preStop });
  const endpoint = recordingLogger();
  await servePreStop(preStop, test.runner, endpoint.logger);
  const endpointLogged = (msg: string) => endpoint.lines.filter((line) => line.msg === msg);
  return { ...test, port, endpointLogged };
}

beforeEach(() => {
  failedAt = undefined;
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => void vi.useRealTimers());

describe('GET /prestop', () => {
  it('starts the stop and answers only when the drain is over: 200 drained, one connection', async () => {
    const { port, logged, runner, endpointLogged } = await serve(30, { DRAIN_DELAY: '5', DRAIN_TIMEOUT: '15' });
    const started = Date.now();
    const answer = state(request(port));
    await until(() => runner.stoppedBy === 'preStop');
    await vi.advanceTimersByTimeAsync(4_999);
    expect(failedAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(failedAt! - started).toBe(5_000);
    await vi.advanceTimersByTimeAsync(14_990);
    await turn();
    expect(answer()).toBe('pending');
    await vi.advanceTimersByTimeAsync(10);
    await until(() => answer() !== 'pending');
    expect(answer()).toMatchObject({ status: 200, body: 'drained\n', headers: { connection: 'close' } });
    expect(logged('preStop call received')[0]).toMatchObject({ signal: 'preStop', stopTimeout: 30, budgetMs: 28_000 });
    expect(endpointLogged('preStop call answered')[0]).toMatchObject({ status: 200, exitCode: 0, ms: 20_000 });
  });

  it('a second call while the drain runs waits for the same stop; a call after it is answered at once', async () => {
    const { port, runner, endpointLogged } = await serve(30, { DRAIN_DELAY: '1', DRAIN_TIMEOUT: '2' });
    const first = state(request(port));
    await until(() => runner.stoppedBy === 'preStop');
    await vi.advanceTimersByTimeAsync(1_500);
    const second = state(request(port));
    await until(() => endpointLogged('preStop call after the stop began').length === 1);
    await vi.advanceTimersByTimeAsync(1_499);
    await turn();
    expect([first(), second()]).toEqual(['pending', 'pending']);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => first() !== 'pending' && second() !== 'pending');
    expect(second()).toEqual(first());
    expect(failedAt).toBeDefined();
    // One stop: one action, one `drain finished`.
    const third = await request(port);
    expect(third).toMatchObject({ status: 200, body: 'drained\n' });
    expect(endpointLogged('preStop call after the stop began')[1]).toMatchObject({ stoppedBy: 'preStop' });
  });

  it('a drain with a failed step answers 500, still only once it is over', async () => {
    const { port, runner } = await serve(30, { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '1' }, { failing: true });
    const answer = state(request(port));
    await until(() => runner.stoppedBy === 'preStop');
    await vi.advanceTimersByTimeAsync(999);
    await turn();
    expect(answer()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    await until(() => answer() !== 'pending');
    expect(answer()).toMatchObject({ status: 500, body: "drain finished with exit code 1: see the helper's log\n" });
  });

  it('a grace period too short for the waits: the fail goes out when due and the answer comes 2 s before the grace period ends', async () => {
    const { port, runner } = await serve(10, { DRAIN_DELAY: '40', DRAIN_TIMEOUT: '40' });
    const started = Date.now();
    const answer = state(request(port));
    await until(() => runner.stoppedBy === 'preStop');
    await vi.advanceTimersByTimeAsync(8_000);
    await until(() => answer() !== 'pending');
    expect(failedAt! - started).toBe(3_200);
    expect(answer()).toMatchObject({ status: 200 });
  });

  it('joins a stop a signal started, and is answered when it is over', async () => {
    const { port, runner, endpointLogged, lines } = await serve(30, { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '1' });
    const stopped = runner.stop('SIGTERM', Date.now());
    expect(lines.find((l) => l.msg.startsWith('stop signal with no preStop call before it'))).toMatchObject({
      level: 'warn',
      signal: 'SIGTERM',
      budgetMs: 2_000,
      actionDueInMs: 800,
    });
    const answer = state(request(port));
    await until(() => endpointLogged('preStop call after the stop began').length === 1);
    expect(endpointLogged('preStop call after the stop began')[0]).toMatchObject({ stoppedBy: 'SIGTERM' });
    // A signal first on Kubernetes is a native sidecar's: 2 s.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await stopped).toBe(0);
    await until(() => answer() !== 'pending');
    expect(answer()).toMatchObject({ status: 200 });
  });

  it('serves nothing else: 404 for another path, 405 for another method, and neither starts the stop', async () => {
    const { port, runner } = await serve(30, {});
    expect(await request(port, '/')).toMatchObject({
      status: 404,
      body: 'not found: the preStop endpoint is GET /prestop\n',
    });
    expect(await request(port, '/prestopx')).toMatchObject({ status: 404 });
    expect(await request(port, PRESTOP_PATH, 'POST')).toMatchObject({ status: 405, headers: { allow: 'GET' } });
    expect(runner.stoppedBy).toBeUndefined();
    // A query string is still the endpoint.
    const answer = state(request(port, `${PRESTOP_PATH}?from=kubelet`));
    await until(() => runner.stoppedBy === 'preStop');
    await vi.advanceTimersByTimeAsync(80_000);
    await until(() => answer() !== 'pending');
  });

  it('answers what is not an HTTP request with 400 and closes, without starting the stop', async () => {
    const { port, runner } = await serve(30, {});
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port });
        let got = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => void (got += chunk));
        socket.on('end', () => resolve(got));
        socket.on('error', reject);
        socket.write(text);
      });
    expect(await raw('hello\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(await raw(`GET /prestop HTTP/1.1\r\nx: ${'a'.repeat(9_000)}`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(runner.stoppedBy).toBeUndefined();
  });

  it('a caller that leaves early is logged; the drain goes on', async () => {
    const { port, runner, endpointLogged } = await serve(30, { DRAIN_DELAY: '1', DRAIN_TIMEOUT: '1' });
    const req = get({ host: '127.0.0.1', port, path: PRESTOP_PATH, agent: false });
    req.on('error', () => undefined);
    await until(() => runner.stoppedBy === 'preStop');
    req.destroy();
    await until(() => endpointLogged('preStop caller left before the stop was over').length === 1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(failedAt).toBeDefined();
  });
});

describe('when the endpoint cannot listen', () => {
  it('a port in use: one line naming both settings and the fix', async () => {
    const { port } = await serve(30, {});
    const other = createTestRunner({ plugins: [], stopTimeout: 30 });
    const refusal = servePreStop({ host: '127.0.0.1', port }, other.runner, recordingLogger().logger);
    await expect(refusal).rejects.toThrow(
      `PRESTOP_HOST=127.0.0.1 PRESTOP_PORT=${port}: the preStop endpoint cannot listen (EADDRINUSE): another process has the port: pick a free PRESTOP_PORT and the preStop httpGet's port with it`,
    );
  });

  it("an address that is not this machine's (a pod IP from elsewhere): names PRESTOP_HOST's fix", async () => {
    const other = createTestRunner({ plugins: [], stopTimeout: 30 });
    // TEST-NET-1 (RFC 5737): never assigned to a host.
    await expect(
      servePreStop({ host: '192.0.2.1', port: await freePort() }, other.runner, recordingLogger().logger),
    ).rejects.toThrow(/\(EADDRNOTAVAIL\): not an address of this pod: set PRESTOP_HOST to the pod's IP/);
  });
});
