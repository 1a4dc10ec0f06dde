import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createH2cServer } from 'node:http2';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHelper } from '../support/helper-process.ts';
import { drainOnce, startTask, type Drain, type RealTask, type SimTask } from '../support/task.ts';

// A plugin's stray error, a slow Envoy and an app the check cannot read never keep POST
// /healthcheck/fail from going out.
const SLACK_MS = 1_000;
const MISBEHAVE_CONFIG = path.resolve(import.meta.dirname, 'fixtures/misbehave.config.ts');

let task: SimTask;
const servers: Array<{ close(): unknown; closeAllConnections?: () => void }> = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections?.();
    server.close();
  }
  await task?.close();
});

describe("a plugin's stray async error never kills the helper", () => {
  it.each(
    ['onStart', 'beforeDrain', 'drain', 'afterDrain'].flatMap((hook) => [
      `${hook}:reject-floating`,
      `${hook}:throw-in-timer`,
    ]),
  )('%s: one line naming the plugin, the drain goes on, exit 1', async (misbehave) => {
    task = await startTask();
    const { code, failAfterMs, helper } = await drainOnce(
      task,
      { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', MISBEHAVE: misbehave },
      ['--config', MISBEHAVE_CONFIG],
    );
    const [hook, how] = misbehave.split(':');
    expect(helper.lines.filter((l) => l.msg === 'stray error caught')).toEqual([
      expect.objectContaining({
        level: 'error',
        plugin: 'misbehave',
        hook,
        kind: how === 'reject-floating' ? 'unhandledRejection' : 'uncaughtException',
        error: how === 'reject-floating' ? `floating rejection in ${hook}` : `thrown in a timer in ${hook}`,
      }),
    ]);
    expect(failAfterMs).toBeDefined();
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 1, strayErrors: 1 });
    expect(code).toBe(1);
    expect(helper.stderr()).toBe('');
  });
});

describe('a slow answer from Envoy is not a failure', () => {
  it('Envoy taking 3 s to answer /healthcheck/fail: one POST, the step is ok, exit 0', async () => {
    task = await startTask({ adminFaults: { '/healthcheck/fail': { status: 200, body: 'OK\n', delayMs: 3_000 } } });
    const { code, steps, helper } = await drainOnce(task, { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '1' });
    expect(steps.find((s) => s.plugin === 'envoy' && s.hook === 'drain')).toMatchObject({ outcome: 'ok' });
    expect(task.envoy.calls.filter((c) => c.path === '/healthcheck/fail').map((c) => c.status)).toEqual([200]);
    expect(helper.lines.some((l) => l.msg === 'envoy admin request retry')).toBe(false);
    expect(code).toBe(0);
  });

  it('Envoy that never answers, STOP_TIMEOUT=10: the POST waits until the budget ends the waits, fails, and afterDrain still runs', async () => {
    task = await startTask({ adminFaults: { '/healthcheck/fail': { status: 200, delayMs: 60_000 } } });
    const { code, steps, exitAt, sigtermAt } = await drainOnce(task, {
      STOP_TIMEOUT: '10',
      DRAIN_DELAY: '0',
      DRAIN_TIMEOUT: '1',
    });
    const step = steps.find((s) => s.plugin === 'envoy' && s.hook === 'drain');
    expect(step).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/^POST .+\/healthcheck\/fail failed: (no answer in time|aborted: stop budget)$/),
    });
    expect(step!.ms).toBeGreaterThanOrEqual(8_000 - SLACK_MS);
    expect(code).toBe(1);
    expect(exitAt - sigtermAt).toBeLessThan(10_000);
  });
});

describe('the app check never skips the drain of a live app', () => {
  async function listen(
    server: Server | ReturnType<typeof createHttpServer> | ReturnType<typeof createH2cServer>,
  ): Promise<string> {
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return String((server.address() as AddressInfo).port);
  }

  it.each([
    ['an app that speaks HTTP/2 only (gRPC)', () => createH2cServer((_, res) => res.end('ok'))],
    [
      'an app that answers but keeps the connection open',
      () =>
        createTcpServer(
          (socket) => void socket.on('error', () => undefined).write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
        ),
    ],
    ['an app that answers after 3 s', () => createHttpServer((_, res) => void setTimeout(() => res.end('ok'), 3_000))],
    ['an app that accepts connections and never answers', () => createHttpServer(() => undefined)],
  ])('%s is drained', async (_, create) => {
    task = await startTask();
    const port = await listen(create());
    const { code, failAfterMs, helper } = await drainOnce(task, { PORT: port, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' });
    expect(helper.lines.find((l) => l.msg === 'app is up')).toMatchObject({ plugin: 'app-check', port: Number(port) });
    expect(failAfterMs).toBeDefined();
    expect(failAfterMs).toBeLessThan(SLACK_MS);
    expect(code).toBe(0);
  });
});

describe('the helper owns the exit during a stop (issue 19 item 2)', () => {
  it.each([
    ['beforeDrain:exit', { call: 'process.exit', code: 0 }],
    ['drain:kill-self', { call: 'process.kill', signal: 'SIGKILL' }],
  ])('%s: held until the drain is over, named after the plugin; the fail goes out; exit 1', async (misbehave, call) => {
    task = await startTask();
    const { code, failAfterMs, helper, steps } = await drainOnce(
      task,
      { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', MISBEHAVE: misbehave },
      ['--config', MISBEHAVE_CONFIG],
    );
    const hook = misbehave.split(':')[0];
    expect(helper.lines.filter((l) => l.msg === 'process exit held: the helper exits after the drain')).toEqual([
      expect.objectContaining({ level: 'error', plugin: 'misbehave', hook, ...call }),
    ]);
    expect(steps.find((s) => s.plugin === 'misbehave')).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/held: the helper exits after the drain$/),
    });
    expect(failAfterMs).toBeDefined();
    expect(task.envoy.calls.filter((c) => c.path === '/healthcheck/fail')).toHaveLength(1);
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 1, heldExits: 1 });
    expect(code).toBe(1);
  });

  it("a shutdown library's own SIGTERM handler that exits: warned at start, held at the stop, the fail goes out, exit 1", async () => {
    task = await startTask();
    const { code, failAfterMs, helper } = await drainOnce(
      task,
      { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', MISBEHAVE: 'apply:sigterm-exit' },
      ['--config', MISBEHAVE_CONFIG],
    );
    const warned = helper.lines.filter((l) => l.msg.startsWith('stop signal listener added by a plugin'));
    expect(warned).toEqual([
      expect.objectContaining({ level: 'warn', phase: 'start', plugin: 'misbehave', hook: 'apply', signal: 'SIGTERM' }),
    ]);
    expect(helper.lines.indexOf(warned[0]!)).toBeLessThan(helper.lines.findIndex((l) => l.msg === 'ready'));
    expect(helper.lines.filter((l) => l.msg === 'process exit held: the helper exits after the drain')).toEqual([
      expect.objectContaining({ call: 'process.exit', code: 0 }),
    ]);
    expect(failAfterMs).toBeDefined();
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 1, heldExits: 1 });
    expect(code).toBe(1);
  });
});

describe('a crashed app still drains (issue 19 item 8)', () => {
  let real: RealTask | undefined;
  afterEach(async () => {
    await real?.close();
    real = undefined;
  });
  const skipped = (lines: Drain['helper']['lines']) => lines.some((l) => l.msg === 'drain skipped');

  it('an app that answered at start (APP_WAIT_READY) and crashed before the stop: drained, the fail goes out', async () => {
    task = await startTask();
    const helper = startHelper(['run'], {
      env: { ...task.env, APP_WAIT_READY: 'true', DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
    });
    await helper.waitForLog('ready');
    await task.app.close();
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(helper.lines.find((l) => l.msg === 'app is gone but it served: draining so callers leave')).toMatchObject({
      plugin: 'app-check',
      served: 'it answered at start',
    });
    expect(skipped(helper.lines)).toBe(false);
    expect(task.envoy.calls.filter((c) => c.path === '/healthcheck/fail')).toHaveLength(1);
  });

  it("real Envoy: an app that served callers through Envoy and crashed: Envoy's /clusters shows it, drained", async () => {
    real = await startTask({ envoy: 'example' });
    const helper = startHelper(['run'], { env: { ...real.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
    await helper.waitForLog('ready');
    expect((await fetch(`${real.listenerUrl}/`)).status).toBe(200);
    await real.app.close();
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(helper.lines.find((l) => l.msg === 'app is gone but it served: draining so callers leave')).toMatchObject({
      served: "Envoy's /clusters shows connections it accepted",
    });
    expect(skipped(helper.lines)).toBe(false);
    expect(helper.lines.some((l) => l.msg.startsWith('envoy health check failed'))).toBe(true);
  });

  it('real Envoy: an app that never came up (callers tried, every connection refused): the drain is still skipped', async () => {
    real = await startTask({ envoy: 'example' });
    await real.app.close();
    const helper = startHelper(['run'], { env: { ...real.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
    await helper.waitForLog('ready');
    expect((await fetch(`${real.listenerUrl}/`)).status).toBe(503);
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(skipped(helper.lines)).toBe(true);
    expect(helper.lines.some((l) => l.msg.startsWith('envoy health check failed'))).toBe(false);
  });
});
