import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHelper } from '../support/helper-process.ts';
import { startTask, type RealTask, type SimTask } from '../support/task.ts';

// A plugin that blocks the main thread (a busy loop, an execSync) cannot keep POST
// /healthcheck/fail from going out: the watchdog, a worker thread started at the signal, sends it
// when the action is due. STOP_TIMEOUT=5: the action is due at 2 s, the helper's exit point is 4.75 s.
const MISBEHAVE_CONFIG = path.resolve(import.meta.dirname, 'fixtures/misbehave.config.ts');
const STOP_TIMEOUT_MS = 5_000;
const ACTION_DUE_MS = 2_000;

let task: SimTask | RealTask;
afterEach(() => task?.close());

describe('a plugin that blocks the main thread during the stop', () => {
  it.each(['beforeDrain:busy-loop', 'drain:exec-sleep'])(
    '%s: the watchdog POSTs the fail once, on time, in one line; SIGKILL ends the helper',
    async (misbehave) => {
      task = await startTask();
      const helper = startHelper(['run', '--config', MISBEHAVE_CONFIG], {
        env: { ...task.env, STOP_TIMEOUT: String(STOP_TIMEOUT_MS / 1000), MISBEHAVE: misbehave },
      });
      await helper.waitForLog('ready');
      const sigtermAt = helper.kill('SIGTERM');
      await helper.waitForLog((l) => l.msg === 'misbehaving');
      // As ECS would: SIGKILL once the budget is over (the watchdog's last line says so first).
      const blocked = await helper.waitForLog((l) => l.msg.startsWith('watchdog: the main thread is still blocked'));
      helper.kill('SIGKILL');
      const { signal } = await helper.exited;

      const fails = (task as SimTask).envoy.calls.filter((c) => c.method === 'POST' && c.path === '/healthcheck/fail');
      expect(fails.map((c) => c.status)).toEqual([200]);
      expect(fails[0]!.at - sigtermAt).toBeGreaterThanOrEqual(ACTION_DUE_MS - 50);
      expect(fails[0]!.at - sigtermAt).toBeLessThan(STOP_TIMEOUT_MS);
      const posted = helper.lines.filter((l) => l.msg.startsWith('watchdog posted'));
      expect(posted).toEqual([
        expect.objectContaining({
          level: 'warn',
          phase: 'stop',
          msg: 'watchdog posted the health check fail: the main thread was blocked',
          adminUrl: task.adminUrl,
          status: 200,
        }),
      ]);
      expect(blocked).toMatchObject({ level: 'error', phase: 'stop' });
      expect(blocked.at - sigtermAt).toBeLessThan(STOP_TIMEOUT_MS);
      expect(signal).toBe('SIGKILL');
      expect(helper.stderr()).toBe('');
    },
  );
});

it("against real Envoy: the watchdog's plain-socket POST is one Envoy takes, and its health check fails", async () => {
  task = await startTask({ envoy: 'bare' });
  const helper = startHelper(['run', '--config', MISBEHAVE_CONFIG], {
    env: { ...task.env, STOP_TIMEOUT: String(STOP_TIMEOUT_MS / 1000), MISBEHAVE: 'beforeDrain:busy-loop' },
  });
  await helper.waitForLog('ready');
  expect((await fetch(`${task.listenerUrl}/ping/ping`)).status).toBe(200);
  helper.kill('SIGTERM');
  const posted = await helper.waitForLog((l) => l.msg.startsWith('watchdog posted'));
  expect(posted).toMatchObject({ status: 200, adminUrl: task.adminUrl });
  // Envoy's health check filter now answers callers' health checks 503 (the point of the fail).
  await expect.poll(async () => (await fetch(`${task.listenerUrl}/ping/ping`)).status, { timeout: 2_000 }).toBe(503);
  helper.kill('SIGKILL');
  await helper.exited;
});
