// How a team uses us: the packages packed as they would be published, installed with npm into an
// empty folder outside the workspace, and docs/plugins.md's plugin, config and test written there,
// type-checked against the published .d.ts, unit-tested, then run for real and stopped with SIGTERM.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';

const root = path.resolve(import.meta.dirname, '../..');
const PUBLISHED = ['core', 'plugin-app-check', 'plugin-delay', 'plugin-envoy', 'plugin-aws', 'cli'];
/** npm and the bins' `#!/usr/bin/env node` run on the workspace's Node 24, not the machine's. */
const env = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
const versionOf = (name: string) =>
  (JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

/** The files docs/plugins.md shows: each code block whose first line is `// <path>`. */
function filesFromDocs(): Map<string, string> {
  const docs = readFileSync(path.join(root, 'docs/plugins.md'), 'utf8');
  const files = new Map<string, string>();
  for (const [, body] of docs.matchAll(/^```\w+\n([\s\S]*?)^```$/gm)) {
    const name = /^\/\/ ([\w./-]+)\n/.exec(body!)?.[1];
    if (name !== undefined) files.set(name, body!);
  }
  return files;
}

let dir: string;
let task: SimTask;
let webhook: { server: Server; url: string; received: Array<{ authorization: string | undefined; body: unknown }> };

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'task-helper-consumer-'));
  const packs = path.join(dir, 'packs');
  mkdirSync(packs);
  // pnpm pack, as publishing does: it runs prepack (tsc -b) and turns workspace: ranges into versions.
  for (const name of PUBLISHED)
    execFileSync('pnpm', ['pack', '--pack-destination', packs], {
      cwd: path.join(root, 'packages', name),
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
  const app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    `${JSON.stringify({ name: 'orders-helper', private: true, type: 'module' }, null, 2)}\n`,
  );
  const tarballs = readdirSync(packs).map((file) => path.join(packs, file));
  execFileSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--save-dev',
      ...tarballs,
      `typescript@${versionOf('typescript')}`,
      `@types/node@${versionOf('@types/node')}`,
    ],
    {
      cwd: app,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    },
  );
  for (const [name, content] of filesFromDocs()) {
    mkdirSync(path.dirname(path.join(app, name)), { recursive: true });
    writeFileSync(path.join(app, name), content);
  }
  task = await startTask();
  const received: typeof webhook.received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => void (body += chunk.toString()));
    req.on('end', () => {
      received.push({ authorization: req.headers.authorization, body: JSON.parse(body) });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  webhook = { server, received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/drained` };
}, 240_000);

afterAll(async () => {
  webhook?.server.close();
  await task?.close();
  rmSync(dir, { recursive: true, force: true });
});

const app = () => path.join(dir, 'app');
const run = (command: string, args: string[]) =>
  execFileSync(command, args, { cwd: app(), env: { ...process.env, ...env }, encoding: 'utf8', stdio: 'pipe' });

describe('a team outside this repository', () => {
  it('gets built JavaScript and .d.ts only, no TypeScript sources', () => {
    for (const name of PUBLISHED) {
      const files = execFileSync('find', ['.', '-type', 'f'], {
        cwd: path.join(app(), 'node_modules/@task-helper', name),
        encoding: 'utf8',
      })
        .trim()
        .split('\n');
      expect(files.filter((file) => !/\.(js|d\.ts)$|^\.\/(package\.json|README\.md|LICENSE)$/.test(file))).toEqual([]);
      expect(files).toContain('./LICENSE');
    }
  });

  it("writes the docs' files: a plugin, its test, a config and a tsconfig", () => {
    expect([...filesFromDocs().keys()].sort()).toEqual([
      'plugins/drain-summary.test.ts',
      'plugins/drain-summary.ts',
      'task-helper.config.ts',
      'tsconfig.json',
    ]);
  });

  it('type-checks its plugin, test and config against the published .d.ts', () => {
    expect(run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'])).toBe('');
  });

  it("runs the plugin's unit test with @task-helper/core/testing", () => {
    expect(run(process.execPath, ['--test', 'plugins/drain-summary.test.ts'])).toMatch(/^\S+ pass 2$/m);
  });

  it('shows its settings in `task-helper plan`, the secret one redacted', () => {
    const plan = JSON.parse(
      execFileSync(
        path.join(app(), 'node_modules/.bin/task-helper'),
        ['plan', '--config', 'task-helper.config.ts', '--json'],
        {
          cwd: app(),
          env: { ...env, SUMMARY_TOKEN: 'not-for-logs' },
          encoding: 'utf8',
        },
      ),
    ) as { settings: Array<{ plugin?: string; env?: string; value: unknown }> };
    expect(plan.settings.filter((s) => s.plugin === 'drain-summary')).toMatchObject([
      { env: 'SUMMARY_URL', value: 'https://hooks.example.com/orders/drained' },
      { env: 'JOBS_LOCK_FILE', value: '/tmp/jobs.lock' },
      { env: 'SUMMARY_TOKEN', value: '[redacted]' },
    ]);
    expect(JSON.stringify(plan)).not.toContain('not-for-logs');
  });

  it('runs `task-helper run --config`: on SIGTERM the plugin holds the drain until the lock file goes, then POSTs its summary', async () => {
    const lockFile = path.join(dir, 'jobs.lock');
    writeFileSync(lockFile, '');
    const helper = spawnHelper(['run', '--config', 'task-helper.config.ts'], {
      command: path.join(app(), 'node_modules/.bin/task-helper'),
      cwd: app(),
      env: {
        ...env,
        ...task.env,
        DRAIN_DELAY: '0',
        DRAIN_TIMEOUT: '0',
        SUMMARY_URL: webhook.url,
        SUMMARY_TOKEN: 'tok',
        JOBS_LOCK_FILE: lockFile,
      },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    await helper.waitForLog('waiting for jobs to finish');
    const ready = async () => (await fetch(`${task.env.ENVOY_ADMIN_URL}/ready`)).text();
    expect(await ready()).toBe('LIVE\n');
    rmSync(lockFile);

    expect((await helper.exited).code).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
    expect(await ready()).toBe('DRAINING\n');
    expect(helper.lines.find((l) => l.msg === 'jobs finished')).toMatchObject({
      plugin: 'drain-summary',
      hook: 'beforeDrain',
    });
    expect(webhook.received).toHaveLength(1);
    expect(webhook.received[0]).toMatchObject({
      authorization: 'Bearer tok',
      body: {
        signal: 'SIGTERM',
        drained: true,
        steps: expect.arrayContaining([
          { plugin: 'envoy', hook: 'drain', outcome: 'ok' },
          { plugin: 'drain-summary', hook: 'beforeDrain', outcome: 'ok' },
        ]),
      },
    });
    expect(helper.lines.at(-1)).toMatchObject({ msg: 'drain finished', exitCode: 0 });
  });
});
