import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';

// The stop budget counts from the signal's arrival, whatever the config is doing then; a config
// that never loads ends in one line and exit 78, and never keeps the fail from going out.
const fixture = (name: string) => path.resolve(import.meta.dirname, 'fixtures', name);
const NEVER_LOADS = fixture('never-loads.config.ts');
const SLOW_LOAD = fixture('slow-load.config.ts');

let task: SimTask;
afterEach(() => task?.close());

const fails = () => task.envoy.calls.filter((c) => c.method === 'POST' && c.path === '/healthcheck/fail');

describe('a config whose top-level await never settles', () => {
  it.each([
    ['nothing else pending', {}],
    ['a timer alive', { KEEP_TIMER: '1' }],
  ])('no signal, %s: one line naming START_TIMEOUT, exit 78 (not a silent 13)', async (_, extra) => {
    task = await startTask();
    const helper = startHelper(['run', '--config', NEVER_LOADS], {
      env: { ...task.env, START_TIMEOUT: '2', ...extra },
    });
    const { code } = await helper.exited;
    expect(code).toBe(78);
    expect(helper.lines.filter((l) => l.level === 'fatal')).toEqual([
      expect.objectContaining({
        exitCode: 78,
        msg: expect.stringMatching(
          /never-loads\.config\.ts: still loading after START_TIMEOUT=2 s .*fix the file or raise START_TIMEOUT$/,
        ),
      }),
    ]);
    expect(fails()).toEqual([]);
    expect(helper.stderr()).toBe('');
  });

  it("SIGTERM while it loads, STOP_TIMEOUT=5: the fail goes out to the environment's Envoy when due, then one line and exit 78", async () => {
    task = await startTask();
    const helper = startHelper(['run', '--config', NEVER_LOADS], { env: { ...task.env, STOP_TIMEOUT: '5' } });
    await helper.waitForLog('config loading');
    const sigtermAt = helper.kill('SIGTERM');
    const { code, at: exitAt } = await helper.exited;
    expect(code).toBe(78);
    expect(exitAt - sigtermAt).toBeLessThan(5_000);
    // DRAIN_DELAY (default 40 s) cut to the action's due point, 2 s after the signal.
    expect(fails().map((c) => c.status)).toEqual([200]);
    expect(fails()[0]!.at - sigtermAt).toBeGreaterThanOrEqual(2_000 - 50);
    expect(helper.lines.filter((l) => l.level === 'fatal')).toEqual([
      expect.objectContaining({
        exitCode: 78,
        msg: expect.stringMatching(
          /never-loads\.config\.ts: still loading when the drain's action was due .*: the health check fail went out/,
        ),
      }),
    ]);
    expect(helper.lines.filter((l) => l.msg.startsWith('watchdog posted'))).toEqual([
      expect.objectContaining({
        level: 'warn',
        phase: 'stop',
        adminUrl: task.adminUrl,
        msg: 'watchdog posted the health check fail: the config was still loading when the action was due',
      }),
    ]);
    expect(helper.stderr()).toBe('');
  });
  it("in ECS with STOP_TIMEOUT unset, SIGTERM while it loads: planned with ECS's 30 s, not 120", async () => {
    // The task definition cannot be read while the config hangs: 30 s puts the action at 12.5 s,
    // where 120 s would put it at 75 s, after ECS's SIGKILL.
    task = await startTask();
    const helper = startHelper(['run', '--config', NEVER_LOADS], {
      env: { ...task.env, ECS_CONTAINER_METADATA_URI_V4: 'http://127.0.0.1:9/v4/none' },
    });
    await helper.waitForLog('config loading');
    helper.kill('SIGTERM');
    expect(await helper.waitForLog('stop signal received while the config loads')).toMatchObject({
      actionDueInMs: 12_500,
    });
    helper.kill('SIGKILL');
  });
});

describe('a config that takes longer than DRAIN_DELAY to load', () => {
  it('SIGTERM while it loads: DRAIN_DELAY and the budget count from the signal, the drain fits, exit 0', async () => {
    // STOP_TIMEOUT=10: waits end at 8 s, the action is due at 6 s. Loading takes 4 s, past DRAIN_DELAY (3 s):
    // counted from the signal the fail goes out as the config is loaded; counted from the hand-over, at 7 s.
    task = await startTask();
    const helper = startHelper(['run', '--config', SLOW_LOAD], {
      env: { ...task.env, LOAD_MS: '4000', STOP_TIMEOUT: '10', DRAIN_DELAY: '3', DRAIN_TIMEOUT: '2' },
    });
    await helper.waitForLog('config loading');
    const sigtermAt = helper.kill('SIGTERM');
    const { code, at: exitAt } = await helper.exited;
    expect(code).toBe(0);
    expect(fails()).toHaveLength(1);
    const failAfterMs = fails()[0]!.at - sigtermAt;
    expect(failAfterMs).toBeGreaterThanOrEqual(3_000);
    expect(failAfterMs).toBeLessThan(6_000);
    expect(exitAt - sigtermAt).toBeLessThan(10_000);
    expect(helper.lines.find((l) => l.msg === 'stop signal received')).toMatchObject({ actionDueInMs: 6_000 });
    expect(helper.lines.find((l) => l.msg === 'drain finished')).toMatchObject({ exitCode: 0 });
    expect(helper.stderr()).toBe('');
  });
});
