import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { docker, dockerMissing, dockerOk, inspect, TEST_LABEL } from '../support/docker.ts';
import { buildImages, images } from '../support/docker-images.ts';

// Both Dockerfiles, built from a clean checkout on the real engine (the legacy builder, base images
// made by scripts/base-images.sh), then what is in them.
const missing = dockerMissing();
if (missing) console.warn(`test/container skipped: ${missing}`);

const root = path.resolve(import.meta.dirname, '../..');
const rootPackage = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { packageManager: string };

interface ImageInspect {
  Config: { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string };
}

/** One short-lived container of the test's, on no network. */
const run = (image: string, args: string[], options: string[] = []) =>
  docker(['run', '--rm', '--network', 'none', '--label', TEST_LABEL, ...options, image, ...args]);

describe.skipIf(missing)('the images, built on the real Docker engine', () => {
  beforeAll(() => buildImages(), 900_000);

  it('pins the pnpm the workspace declares', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`npm install --global --no-fund --no-audit ${rootPackage.packageManager}`);
    expect(dockerfile).not.toMatch(/^# syntax=/m);
  });

  it('runs the helper under tini as PID 1, `run` by default, as the node user (uid 1000)', async () => {
    const { Config } = await inspect<ImageInspect>(images.helper);
    expect(Config.Entrypoint.slice(0, 3)).toEqual(['/sbin/tini', '-s', '--']);
    expect(Config.Cmd).toEqual(['run']);
    expect(Config.User).toBe('node');
    expect((await run(images.helper, ['-u'], ['--entrypoint', 'id'])).stdout).toBe('1000\n');
    const version = await run(images.helper, ['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('ships the bundle, tini and the task-helper command; no sources, no pnpm, no build CA', async () => {
    const found = await run(
      images.helper,
      [
        '-c',
        'ls /opt/task-helper /opt/task-helper/compile-cache; command -v task-helper; find / -xdev \\( -name "build-ca.pem*" -o -name pnpm \\) -print',
      ],
      // root: to search every folder.
      ['--entrypoint', 'sh', '--user', 'root'],
    );
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout.split('\n').filter(Boolean)).toEqual([
      '/opt/task-helper:',
      'compile-cache',
      'config',
      'node_modules',
      'warm-compile-cache.mjs',
      '/opt/task-helper/compile-cache:',
      // Warmed for the user the helper runs as: Node keys the cache by uid.
      expect.stringMatching(/^v24\.[\d.]+-x64-\w+-1000$/),
      '/usr/local/bin/task-helper',
    ]);
    const history = await dockerOk(['history', '--no-trunc', '--format', '{{.CreatedBy}}', images.helper]);
    expect(history).not.toContain('build-ca');
    expect(history).not.toContain('BEGIN CERTIFICATE');
  });

  it('uses its compile cache on a read-only root filesystem (readonlyRootFilesystem), and starts without one', async () => {
    const cached = await run(images.helper, ['health'], ['--read-only', '--env', 'NODE_DEBUG_NATIVE=COMPILE_CACHE']);
    expect(cached.code, cached.stderr).toBe(1);
    expect(cached.stdout).toMatch(/^not healthy: [^\n]+\n$/);
    expect(cached.stderr).toMatch(/V8 code cache for ESM file:\/\/\/opt\/task-helper\/\S+\/cli\.mjs was accepted/);
    const without = await run(images.helper, ['health'], ['--read-only', '--env', 'NODE_COMPILE_CACHE=/nowhere']);
    expect(without.code, without.stderr).toBe(1);
    expect(without.stdout).toMatch(/^not healthy: [^\n]+\n$/);
    expect(without.stderr).toBe('');
  });

  it('answers `task-helper health` with one line naming what is down, never a stack trace', async () => {
    const health = await run(images.helper, ['health']);
    expect(health.code).toBe(1);
    expect(health.stdout).toMatch(/^not healthy: [^\n]+\n$/);
    expect(health.stderr).not.toMatch(/\n\s+at /);
  });

  it('builds examples/envoy on envoyproxy/envoy: its envoy.yaml validates and Envoy runs as envoy (101)', async () => {
    const validate = await run(images.envoy, ['envoy', '--mode', 'validate', '-c', '/etc/envoy/envoy.yaml']);
    expect(validate.code, validate.stderr + validate.stdout).toBe(0);
    expect(validate.stdout + validate.stderr).toContain("configuration '/etc/envoy/envoy.yaml' OK");
    const user = await run(images.envoy, ['id', '-u']);
    expect(user.stdout.trim()).toBe('101');
    const bash = await run(images.envoy, ['bash', '-c', 'echo ok']);
    expect(bash.stdout).toBe('ok\n');
  });
});
