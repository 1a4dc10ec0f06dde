import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawnHelper } from '../support/helper-process.ts';
import { startTask as startStack, type SimTask as Stack } from '../support/task.ts';

// `task-helper` right after `make setup`, before any build: the package's bin, laid out as in the
// repository with no dist/ (the real src/ linked beside it), runs the sources in its own process.
const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'task-helper-bin-'));

function layout(name: string, { withSources }: { withSources: boolean }): string {
  const pkg = path.join(dir, name);
  mkdirSync(path.join(pkg, 'bin'), { recursive: true });
  for (const file of ['task-helper.js', 'run-built-or-sources.js'])
    copyFileSync(path.join(root, 'packages/cli/bin', file), path.join(pkg, 'bin', file));
  if (withSources) symlinkSync(path.join(root, 'packages/cli/src'), path.join(pkg, 'src'));
  return path.join(pkg, 'bin/task-helper.js');
}

let stack: Stack | undefined;
afterEach(() => stack?.close());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the task-helper bin without a build', () => {
  const bin = layout('unbuilt', { withSources: true });

  it('runs the sources: --version answers', async () => {
    const helper = spawnHelper([bin, '--version']);
    expect((await helper.exited).code, helper.stderr()).toBe(0);
    expect(helper.stdout()).toBe('0.1.0\n');
  });

  it('drains on SIGTERM in the same process (no child that would not forward it)', async () => {
    stack = await startStack();
    const helper = spawnHelper([bin, 'run'], { env: { ...stack.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(stack.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/healthcheck/fail',
      '/drain_listeners',
    ]);
  });

  it('with neither dist/ nor src/: one line saying what to do, exit 1, no stack trace', async () => {
    const helper = spawnHelper([layout('broken', { withSources: false }), '--version']);
    expect((await helper.exited).code).toBe(1);
    expect(helper.stderr()).toMatch(
      /^task-helper: \S+\/dist\/cli\.js is missing: reinstall the package \(in its repository: make build\)\n$/,
    );
  });
});
