import { afterEach, describe, expect, it } from 'vitest';
import type { AdminFault } from '@task-helper/envoy-sim';
import { startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';
import { tempDir } from '../support/temp-config.ts';

let task: SimTask;
afterEach(() => task?.close());

const quick = { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' };
const posts = () => task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path);

describe('signals other than SIGTERM', () => {
  it('SIGUSR1 is logged and does not open the Node inspector', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: { ...task.env, ...quick } });
    await helper.waitForLog('ready');
    helper.kill('SIGUSR1');
    expect(await helper.waitForLog((l) => l.msg.startsWith('signal ignored') && l.signal === 'SIGUSR1')).toMatchObject({
      level: 'warn',
    });
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    // Node announces an opened inspector on stderr ("Debugger listening on ws://127.0.0.1:9229/…").
    expect(helper.stderr()).toBe('');
    expect(posts()).toEqual(['/healthcheck/fail', '/drain_listeners']);
  });

  it('SIGHUP and SIGUSR2 are logged and ignored: the helper keeps running and still drains on SIGTERM', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: { ...task.env, ...quick } });
    await helper.waitForLog('ready');
    for (const signal of ['SIGHUP', 'SIGUSR2'] as const) {
      helper.kill(signal);
      await helper.waitForLog((l) => l.msg.startsWith('signal ignored') && l.signal === signal);
    }
    expect(posts()).toEqual([]);
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(posts()).toEqual(['/healthcheck/fail', '/drain_listeners']);
  });

  it('SIGQUIT stops the helper like SIGTERM: the drain runs, then it exits 0', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: { ...task.env, ...quick } });
    await helper.waitForLog('ready');
    helper.kill('SIGQUIT');
    expect(await helper.exited).toMatchObject({ code: 0, signal: null });
    expect(posts()).toEqual(['/healthcheck/fail', '/drain_listeners']);
    expect(helper.lines.find((l) => l.msg === 'drain finished')).toMatchObject({ signal: 'SIGQUIT', exitCode: 0 });
  });
});

describe('a stop signal before the helper is ready', () => {
  it('while onStart waits for Envoy: the wait is cut, the drain runs, exit 0', async () => {
    const adminFaults: Record<string, AdminFault> = { '/ready': { status: 503, body: 'INITIALIZING\n' } };
    task = await startTask({ adminFaults });
    const helper = startHelper(['run'], { env: { ...task.env, ...quick } });
    await helper.waitForLog('waiting for envoy to be live');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(posts()).toEqual(['/healthcheck/fail', '/drain_listeners']);
    const finished = await helper.waitForLog('drain finished');
    expect(finished.steps).toEqual(
      expect.arrayContaining([expect.objectContaining({ plugin: 'envoy', hook: 'onStart', outcome: 'cut' })]),
    );
    expect(helper.lines.some((l) => l.msg === 'start interrupted by stop signal')).toBe(true);
  });

  it('while the config file is still loading: the signal is kept, onStart is skipped, the drain runs, exit 0', async () => {
    task = await startTask();
    // The config holds its loading open until SIGTERM arrives, then resolves to the default plugins.
    const cwd = tempDir({
      'task-helper.config.mjs': [
        "process.stderr.write('config loading\\n');",
        // A timer keeps Node alive meanwhile, as a real load's I/O would.
        'const alive = setInterval(() => {}, 1000);',
        "await new Promise((resolve) => process.once('SIGTERM', resolve));",
        'clearInterval(alive);',
        'export default {};',
      ].join('\n'),
    });
    const helper = startHelper(['run'], { env: { ...task.env, ...quick }, cwd });
    await waitFor(() => helper.stderr().includes('config loading'));
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(posts()).toEqual(['/healthcheck/fail', '/drain_listeners']);
    expect(helper.lines.some((l) => l.msg === 'start skipped: a stop signal came first')).toBe(true);
    expect(helper.lines.some((l) => l.msg === 'ready')).toBe(false);
  });
});

/** Polls `check` every 10 ms until it holds, failing after 10 s. */
async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
