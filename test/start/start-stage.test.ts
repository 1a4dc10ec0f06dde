import { startToyApp, type AdminFault } from '@task-helper/envoy-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';

let task: SimTask;
afterEach(() => task?.close());

describe('the start stage', () => {
  it("waits in onStart until Envoy's /ready moves from INITIALIZING to LIVE, then logs ready with each step's time", async () => {
    // /ready answers INITIALIZING until the helper has seen it, however slowly the helper starts.
    const adminFaults: Record<string, AdminFault> = { '/ready': { status: 503, body: 'INITIALIZING\n' } };
    task = await startTask({ adminFaults });
    const helper = startHelper(['run'], { env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
    await helper.waitForLog('waiting for envoy to be live');
    delete adminFaults['/ready'];
    const ready = await helper.waitForLog('ready');
    const readyCalls = task.envoy.calls.filter((c) => c.path === '/ready');
    expect(readyCalls[0]?.status).toBe(503);
    expect(readyCalls.at(-1)?.status).toBe(200);
    expect(helper.lines.find((l) => l.msg === 'waiting for envoy to be live')).toMatchObject({
      state: 'INITIALIZING',
      plugin: 'envoy',
      hook: 'onStart',
    });
    expect(ready.steps).toEqual([expect.objectContaining({ plugin: 'envoy', hook: 'onStart', outcome: 'ok' })]);
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
  });

  it('gives up waiting at START_TIMEOUT, logs the failure and still drains later (exit 1)', async () => {
    task = await startTask({ initializingMs: 60_000 });
    const helper = startHelper(['run'], {
      env: { ...task.env, START_TIMEOUT: '1', DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
    });
    const ready = await helper.waitForLog('ready');
    expect(ready.steps).toEqual([
      expect.objectContaining({
        plugin: 'envoy',
        hook: 'onStart',
        outcome: 'failed',
        error: expect.stringMatching(/^envoy was not live after \d+ ms \(last: INITIALIZING\); carrying on/),
      }),
    ]);
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(1);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/healthcheck/fail',
      '/drain_listeners',
    ]);
  });

  it('does not wait for Envoy with ENVOY_WAIT_READY=false', async () => {
    task = await startTask({ initializingMs: 60_000 });
    const helper = startHelper(['run'], {
      env: { ...task.env, ENVOY_WAIT_READY: 'false', DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
    });
    expect((await helper.waitForLog('ready')).steps).toEqual([]);
    expect(task.envoy.calls).toEqual([]);
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
  });

  it('with APP_WAIT_READY=true, waits for the app to answer before ready', async () => {
    task = await startTask();
    const port = await freePort();
    const helper = startHelper(['run'], {
      env: { ...task.env, PORT: String(port), APP_WAIT_READY: 'true', DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
    });
    await helper.waitForLog('waiting for the app to answer');
    expect(helper.lines.some((l) => l.msg === 'ready')).toBe(false);
    const app = await startToyApp({ port });
    try {
      const ready = await helper.waitForLog('ready');
      expect(ready.steps).toEqual(
        expect.arrayContaining([expect.objectContaining({ plugin: 'app-check', hook: 'onStart', outcome: 'ok' })]),
      );
    } finally {
      helper.kill('SIGTERM');
      await helper.exited;
      await app.close();
    }
  });
});

describe("Envoy's other drain controls", () => {
  it('ENVOY_DRAIN_LISTENERS=inbound POSTs /drain_listeners?graceful&skip_exit&inboundonly right after /healthcheck/fail', async () => {
    task = await startTask();
    const helper = startHelper(['run'], {
      env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', ENVOY_DRAIN_LISTENERS: 'inbound' },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => `${c.path}?${c.query} ${c.status}`)).toEqual([
      '/healthcheck/fail? 200',
      '/drain_listeners?graceful&skip_exit&inboundonly 200',
      '/drain_listeners?inboundonly 200',
    ]);
  });

  it("ENVOY_DRAIN_LISTENERS=inbound on an Envoy before 1.34 (the sim's 1.29 build): one warning at start naming the setting and the version, the same drain", async () => {
    task = await startTask({ statSet: '1.29' });
    const helper = startHelper(['run'], {
      env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', ENVOY_DRAIN_LISTENERS: 'inbound' },
    });
    const ready = await helper.waitForLog('ready');
    const warnings = helper.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => [l.hook, l.msg])).toEqual([
      [
        'onStart',
        expect.stringMatching(/^ENVOY_DRAIN_LISTENERS=inbound: Envoy 1\.29\.12 drains its outbound listeners too /),
      ],
    ]);
    expect(ready.steps).toEqual([
      expect.objectContaining({ plugin: 'envoy', hook: 'onStart', outcome: 'ok' }),
      expect.objectContaining({ plugin: 'envoy', hook: 'onStart', outcome: 'ok' }),
    ]);
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => `${c.path}?${c.query}`)).toEqual([
      '/healthcheck/fail?',
      '/drain_listeners?graceful&skip_exit&inboundonly',
      '/drain_listeners?inboundonly',
    ]);
    expect(helper.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('/server_info that never answers: the start gives it a second, says so once, and the drain sends what the newest Envoy needs', async () => {
    task = await startTask({ adminFaults: { '/server_info': { status: 200, delayMs: 60_000 } } });
    const helper = startHelper(['run'], {
      env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', ENVOY_DRAIN_LISTENERS: 'all' },
    });
    await helper.waitForLog('ready');
    expect(helper.lines.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({
        hook: 'onStart',
        msg: 'envoy version unreadable from /server_info: ENVOY_DRAIN_LISTENERS=all will send what Envoy 1.40 needs',
        error: expect.stringMatching(/no answer within 1000 ms$/),
      }),
    ]);
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => `${c.path}?${c.query}`)).toEqual([
      '/healthcheck/fail?',
      '/drain_listeners?graceful&skip_exit',
      '/drain_listeners?inboundonly',
    ]);
    expect(helper.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('a stop signal while /server_info hangs: the read is cut and /healthcheck/fail goes out at once', async () => {
    task = await startTask({ adminFaults: { '/server_info': { status: 200, delayMs: 60_000 } } });
    const helper = startHelper(['run'], {
      env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', ENVOY_DRAIN_LISTENERS: 'inbound' },
    });
    await helper.waitForLog('envoy is live');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    const posts = task.envoy.calls.filter((c) => c.method === 'POST').map((c) => `${c.path}?${c.query}`);
    expect(posts).toEqual([
      '/healthcheck/fail?',
      '/drain_listeners?graceful&skip_exit&inboundonly',
      '/drain_listeners?inboundonly',
    ]);
    // However the race went (read cut by the stop, or timed out first), one line says so and the drain never waited for it.
    expect(helper.lines.filter((l) => /^envoy version unreadable/.test(l.msg))).toHaveLength(1);
  });

  it('ENVOY_QUIT=true POSTs /quitquitquit in afterDrain, last, and Envoy exits', async () => {
    task = await startTask();
    const quit = new Promise<void>((resolve) => task.envoy.on('quit', resolve));
    const helper = startHelper(['run'], {
      env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0', ENVOY_QUIT: 'true', ENVOY_DRAIN_LISTENERS: 'all' },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    await quit;
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => `${c.path}?${c.query}`)).toEqual([
      '/healthcheck/fail?',
      '/drain_listeners?graceful&skip_exit',
      '/drain_listeners?inboundonly',
      '/quitquitquit?',
    ]);
    expect(helper.lines.find((l) => l.msg === 'envoy told to quit')).toMatchObject({ hook: 'afterDrain' });
  });
});
