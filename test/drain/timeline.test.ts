import path from 'node:path';
import { startToyApp } from '@task-helper/envoy-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { spawnHelper, startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';

let task: SimTask;
afterEach(() => task?.close());

// Timers never fire early, so lower bounds are exact; upper bounds allow a busy machine a second.
const SLACK_MS = 1_000;

describe('the default drain, from environment variables alone', () => {
  it('POSTs /healthcheck/fail DRAIN_DELAY after SIGTERM and exits 0 DRAIN_TIMEOUT later', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: { ...task.env, DRAIN_DELAY: '1', DRAIN_TIMEOUT: '2' } });
    await helper.waitForLog('ready');
    // Read the clock before the signal goes out: the helper may count DRAIN_DELAY from an earlier millisecond than kill() returns.
    const sentAt = Date.now();
    helper.kill('SIGTERM');
    const { code, at: exitAt } = await helper.exited;

    expect(code).toBe(0);
    const posts = task.envoy.calls.filter((c) => c.method === 'POST');
    expect(posts.map((c) => `${c.method} ${c.path}?${c.query} ${c.status}`)).toEqual([
      'POST /healthcheck/fail? 200',
      'POST /drain_listeners?inboundonly 200',
    ]);
    const failAt = posts[0]!.at;
    expect(failAt - sentAt).toBeGreaterThanOrEqual(1_000);
    expect(failAt - sentAt).toBeLessThan(1_000 + SLACK_MS);
    expect(exitAt - failAt).toBeGreaterThanOrEqual(2_000 - 50);
    expect(exitAt - failAt).toBeLessThan(2_000 + SLACK_MS);
    expect(task.envoy.state()).toBe('DRAINING');
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 0 });
  });

  it('finishes at once with DRAIN_DELAY=0 DRAIN_TIMEOUT=0', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/healthcheck/fail',
      '/drain_listeners',
    ]);
    expect(helper.lines.find((l) => l.msg === 'drain finished')?.ms).toBeLessThan(SLACK_MS);
  });

  it('skips the drain and exits at once when the app is not reachable', async () => {
    task = await startTask();
    const helper = startHelper(['run'], {
      env: { ...task.env, PORT: String(await freePort()), DRAIN_DELAY: '30', DRAIN_TIMEOUT: '30' },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    // onStart's /ready, then at the stop only the app check's question whether Envoy ever reached the app: no POST.
    expect(task.envoy.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /ready', 'GET /clusters']);
    expect(helper.lines.find((l) => l.msg.startsWith('app is not reachable'))).toMatchObject({
      plugin: 'app-check',
      reason: 'ECONNREFUSED',
    });
    expect(helper.lines.find((l) => l.msg === 'drain finished')).toMatchObject({
      skipped: expect.stringContaining('app not reachable'),
      exitCode: 0,
    });
    expect(helper.lines.find((l) => l.msg === 'drain finished')?.ms).toBeLessThan(SLACK_MS);
  });

  it('counts an app on a port that fetch would refuse (6000) as up', async () => {
    task = await startTask();
    const app = await startToyApp({ port: 6000 }).catch(() => undefined);
    if (!app) return expect.fail('port 6000 is taken on this machine; free it to run this test');
    try {
      const helper = startHelper(['run'], {
        env: { ...task.env, PORT: '6000', DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
      });
      await helper.waitForLog('ready');
      helper.kill('SIGTERM');
      expect((await helper.exited).code).toBe(0);
      expect(helper.lines.find((l) => l.msg === 'app is up')).toMatchObject({ port: 6000 });
    } finally {
      await app.close();
    }
  });

  it('drains anyway when the app check is turned off', async () => {
    task = await startTask();
    const helper = startHelper(['run'], {
      env: { ...task.env, PORT: String(await freePort()), APP_CHECK: 'false', DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/healthcheck/fail',
      '/drain_listeners',
    ]);
  });

  it('finds Envoy on ENVOY_ADMIN_ACCESS_PORT when ENVOY_ADMIN_URL is unset', async () => {
    task = await startTask();
    const env = {
      PORT: task.env.PORT!,
      ENVOY_ADMIN_ACCESS_PORT: new URL(task.envoy.adminUrl).port,
      DRAIN_DELAY: '0',
      DRAIN_TIMEOUT: '0',
    };
    const helper = startHelper(['run'], { env });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/healthcheck/fail',
      '/drain_listeners',
    ]);
  });
});

describe('node_modules/.bin/task-helper, as the README runs it', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  // The bin is the built JavaScript, as published (`tsc -b`, once per run: test/support/build-once.ts).

  it('receives SIGTERM itself (no shell in between) and drains', async () => {
    task = await startTask();
    const bin = path.join(root, 'node_modules/.bin/task-helper');
    const helper = spawnHelper(['run'], { env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' }, command: bin });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 0 });
  });
});
