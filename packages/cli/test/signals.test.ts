import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startHelper } from '../../../test/support/helper-process.ts';
import { tempDir } from '../../../test/support/temp-config.ts';

const PROBE = path.resolve(import.meta.dirname, '../../../test/support/fixtures/probe.ts');
const ALL_HOOKS = path.resolve(import.meta.dirname, '../../../test/support/fixtures/all-hooks');

const ran = (lines: Array<{ msg: string; plugin?: unknown; hook?: unknown }>) =>
  lines.filter((l) => l.msg === 'probe ran').map((l) => `${String(l.plugin)}:${String(l.hook)}`);

describe('signals, on the real CLI', () => {
  it("runs a local plugin's four hooks in order on SIGTERM and exits 0 (config found in the working folder)", async () => {
    const helper = startHelper(['run'], { cwd: ALL_HOOKS });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(ran(helper.lines)).toEqual([
      'path-plugin:onStart',
      'object-plugin:onStart',
      'path-plugin:beforeDrain',
      'object-plugin:beforeDrain',
      'path-plugin:drain',
      'object-plugin:drain',
      'path-plugin:afterDrain',
      'object-plugin:afterDrain',
    ]);
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 0, signal: 'SIGTERM' });
  });

  it('logs and ignores a second signal, and exits 143 on a third', async () => {
    const dir = tempDir({
      'c.json': { plugins: [[PROBE, { wait: { hook: 'drain', ms: 60_000 }, timeout: 120_000 }]] },
    });
    const helper = startHelper(['run', '--config', path.join(dir, 'c.json')]);
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    await helper.waitForLog((l) => l.msg === 'probe ran' && l.hook === 'drain');
    helper.kill('SIGTERM');
    await helper.waitForLog((l) => l.msg.startsWith('signal ignored'));
    expect(helper.child.exitCode).toBeNull();
    helper.kill('SIGINT');
    expect((await helper.exited).code).toBe(130);
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'forced exit', signal: 'SIGINT', exitCode: 130 });
    expect(ran(helper.lines)).not.toContain('probe:afterDrain');
  });

  it('gives a SIGTERM that arrives during onStart the full stop sequence', async () => {
    const dir = tempDir({
      'c.json': { plugins: [[PROBE, { wait: { hook: 'onStart', ms: 60_000 }, timeout: 120_000 }]] },
    });
    const helper = startHelper(['run', '--config', path.join(dir, 'c.json')]);
    await helper.waitForLog((l) => l.msg === 'probe ran' && l.hook === 'onStart');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(ran(helper.lines)).toEqual(['probe:onStart', 'probe:beforeDrain', 'probe:drain', 'probe:afterDrain']);
    expect(helper.lines.some((l) => l.msg === 'ready')).toBe(false);
  });

  it('exits 1 when a plugin throws or hangs, after running the others', async () => {
    const dir = tempDir({
      'c.json': {
        plugins: [
          [PROBE, { name: 'thrower', throwIn: 'drain' }],
          [PROBE, { name: 'hanger', hangIn: 'beforeDrain', timeout: 300 }],
          [PROBE, { name: 'fine' }],
        ],
      },
    });
    const helper = startHelper(['run', '--config', path.join(dir, 'c.json')]);
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(1);
    expect(ran(helper.lines)).toContain('fine:afterDrain');
    const summary = helper.lines.find((l) => l.msg === 'drain finished');
    expect(summary?.steps).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          plugin: 'thrower',
          hook: 'drain',
          outcome: 'failed',
          error: 'probe thrower broke in drain',
        }),
        expect.objectContaining({ plugin: 'hanger', hook: 'beforeDrain', outcome: 'timeout' }),
        expect.objectContaining({ plugin: 'fine', hook: 'drain', outcome: 'ok' }),
      ]),
    );
  });

  it('cuts a wait at the stop budget so afterDrain runs before SIGKILL would land', async () => {
    const dir = tempDir({
      'c.json': { stopTimeout: 5, plugins: [[PROBE, { wait: { hook: 'drain', ms: 60_000 }, timeout: 120_000 }]] },
    });
    const helper = startHelper(['run', '--config', path.join(dir, 'c.json')]);
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    // Measured by the helper from the signal it received: the whole sequence fits the 5 s budget.
    expect(helper.lines.find((l) => l.msg === 'drain finished')?.ms).toBeLessThan(5_000);
    expect(ran(helper.lines)).toContain('probe:afterDrain');
    expect(helper.lines.find((l) => l.msg === 'wait cut short')).toMatchObject({ plugin: 'probe', hook: 'drain' });
  });
});
