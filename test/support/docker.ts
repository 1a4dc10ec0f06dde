import { execFile, spawnSync } from 'node:child_process';
import { request } from 'node:http';

/**
 * The real Docker engine for test/container: `scripts/docker-engine.sh start` runs it (make test
 * does), `scripts/base-images.sh` makes the base images. Every container and network a test makes
 * carries TEST_LABEL, so `scripts/docker-engine.sh stop` removes whatever a crashed run left.
 */
export const TEST_LABEL = 'task-helper.test';

const BASE_IMAGES = ['debian:bookworm-slim', 'node:24-bookworm-slim', 'node:24-alpine', 'envoyproxy/envoy:v1.40.0'];

/**
 * What a test does without an engine or base images: in CI (CI=true) that is an error, so a broken
 * engine start is never a green run; elsewhere the container tests are skipped with this message.
 */
export function dockerMissing(): string | undefined {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  let message: string | undefined;
  if (info.error || info.status !== 0) {
    message = `no Docker engine answers (docker info: ${oneLine(info.error?.message ?? info.stderr)}): run \`scripts/docker-engine.sh start\` as root (make test does)`;
  } else {
    const missing = BASE_IMAGES.filter(
      (image) => spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status !== 0,
    );
    if (missing.length > 0) message = `base images missing (${missing.join(', ')}): run \`scripts/base-images.sh\``;
  }
  if (message && process.env.CI === 'true') throw new Error(`${message} (CI=true: the container tests must run)`);
  return message;
}

const oneLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI; never throws (the answer holds the exit code). */
export function docker(args: string[], { timeoutMs = 120_000 } = {}): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '0' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs the docker CLI and returns its trimmed stdout; throws with its stderr if it fails. */
export async function dockerOk(args: string[], options?: { timeoutMs?: number }): Promise<string> {
  const result = await docker(args, options);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** `docker inspect` of one container or image, parsed. */
export async function inspect<T = Record<string, unknown>>(name: string): Promise<T> {
  return (JSON.parse(await dockerOk(['inspect', name])) as T[])[0]!;
}

/** Removes every container and network with TEST_LABEL and `label` (e.g. `run=<id>`): a test's own. */
export async function removeLabelled(label: string): Promise<void> {
  const filters = ['--filter', `label=${TEST_LABEL}`, '--filter', `label=${label}`];
  const containers = (await dockerOk(['ps', '-aq', ...filters])).split('\n').filter(Boolean);
  if (containers.length > 0) await docker(['rm', '-f', ...containers]);
  const networks = (await dockerOk(['network', 'ls', '-q', ...filters])).split('\n').filter(Boolean);
  if (networks.length > 0) await docker(['network', 'rm', ...networks]);
}

/** The engine's socket: DOCKER_HOST when it names one, else Docker's default. */
const socketPath = (): string => {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
};

/**
 * One call of the Engine API (v1.41: dockerd 20.10) on its socket: for what must happen within
 * milliseconds of another (signalling a container just started), which a `docker` CLI process
 * spawned per call cannot do on a busy machine.
 */
export function engine<T = unknown>(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: socketPath(),
        method,
        path: `/v1.41${path}`,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300)
            reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.trim()}`));
          else resolve((text ? JSON.parse(text) : undefined) as T);
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end(payload);
  });
}
