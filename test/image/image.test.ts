import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const OPT = '/opt/task-helper';
const CLI = 'node_modules/@task-helper/cli/dist/cli.mjs';

let image: string;
let task: SimTask;

// What the image holds, made the way the Dockerfile makes it (scripts/build.ts, run once per run by
// test/support/build-once.ts), in an empty folder far from this repository's node_modules, run
// with nothing but Node.
beforeAll(async () => {
  expect(dockerfile).toContain('RUN node scripts/build.ts');
  expect(dockerfile).toContain(`COPY --from=build /src/dist/task-helper ${OPT}`);
  image = mkdtempSync(path.join(tmpdir(), 'task-helper-image-'));
  cpSync(path.join(root, 'dist/task-helper'), image, { recursive: true });
  task = await startTask();
}, 60_000);
// A drain leaves Envoy DRAINING; each test starts from a live one.
beforeEach(async () => void (await fetch(`${task.envoy.adminUrl}/healthcheck/ok`, { method: 'POST' })));
afterAll(async () => {
  await task?.close();
  rmSync(image, { recursive: true, force: true });
});

describe('the image', () => {
  it('runs node under tini (PID 1) on the bundled CLI, `run` by default, as a non-root user', () => {
    expect(dockerfile).toContain(`ENTRYPOINT ["/sbin/tini", "-s", "--", "node", "${OPT}/${CLI}"]`);
    expect(dockerfile).toContain('CMD ["run"]');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^FROM node:24-alpine$/m);
    expect(dockerfile).toContain(`WORKDIR ${OPT}/config`);
  });

  it('holds the bundle and nothing else: no sources, no dev dependencies', () => {
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: image, encoding: 'utf8' }).trim().split('\n').sort();
    // Besides V8's code cache for the start path, which scripts/build.ts warms (scripts/warm-compile-cache.mjs).
    const cache = files.filter((f) => f.startsWith('./compile-cache/'));
    expect(cache.length).toBeGreaterThan(1);
    expect(files.filter((f) => !cache.includes(f)).every((f) => f.endsWith('.mjs') || f.endsWith('package.json'))).toBe(
      true,
    );
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.some((f) => f.includes('pnpm') || f.includes('vitest') || f.includes('typescript'))).toBe(false);
  });

  it('drains with the default plugins from the environment, from the image folder alone', async () => {
    const helper = spawnHelper([path.join(image, CLI), 'run'], {
      cwd: path.join(image, 'config'),
      env: { ...task.env, DRAIN_DELAY: '0.2', DRAIN_TIMEOUT: '0.2' },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toContain('/healthcheck/fail');
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 0 });
  });

  it('answers the ECS healthCheck command', async () => {
    const helper = spawnHelper([path.join(image, CLI), 'health'], { cwd: path.join(image, 'config'), env: task.env });
    expect((await helper.exited).code).toBe(0);
    expect(helper.stdout()).toBe('healthy: app-check, envoy\n');
  });

  it("runs a team's own TypeScript plugin copied into config/, importing @task-helper/core from the image", async () => {
    const config = path.join(image, 'config');
    cpSync(path.join(root, 'examples/custom-plugin/plugins'), path.join(config, 'plugins'), { recursive: true });
    writeFileSync(
      path.join(config, 'task-helper.config.ts'),
      [
        "import { appCheck } from '@task-helper/cli';",
        "import { defineConfig } from '@task-helper/core';",
        "import delay from '@task-helper/plugin-delay';",
        "import envoy from '@task-helper/plugin-envoy';",
        "import notify from './plugins/notify.ts';",
        `export default defineConfig({ plugins: [appCheck(), delay({ drainDelay: 0, drainTimeout: 0 }), envoy(), notify({ url: '${task.app.url}/drained' })] });`,
      ].join('\n'),
    );
    try {
      const helper = spawnHelper([path.join(image, CLI), 'run'], { cwd: config, env: task.env });
      await helper.waitForLog('ready');
      helper.kill('SIGTERM');
      expect((await helper.exited).code).toBe(0);
      expect(helper.lines.find((l) => l.msg === 'drain finished')?.steps).toContainEqual(
        expect.objectContaining({ plugin: 'notify', hook: 'afterDrain', outcome: 'ok' }),
      );
    } finally {
      rmSync(path.join(config, 'task-helper.config.ts'));
      rmSync(path.join(config, 'plugins'), { recursive: true });
    }
  });
});
