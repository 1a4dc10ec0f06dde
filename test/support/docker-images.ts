import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { container, loadTaskDefinition } from '../../examples/ecs/task-definition.ts';
import { docker, dockerOk } from './docker.ts';

/**
 * The images the task definition names, built on the real engine as a team builds them: the
 * repository's Dockerfile and examples/envoy/Dockerfile from a clean checkout (the files git
 * tracks, plus new ones it does not ignore: no node_modules, no dist), and the stand-in app
 * (test/container/app-image), and the caller (test/container/caller-image). Built once for all test files: a build stamps its images with the
 * checkout's hash, and a lock keeps two test files from building at once.
 */

const root = path.resolve(import.meta.dirname, '../..');
const task = loadTaskDefinition();

export const images = Object.freeze({
  helper: container(task, 'task-helper').image,
  envoy: container(task, 'envoy').image,
  app: container(task, 'app').image,
  /** HAProxy in front of the tasks (test/container/caller-image). */
  caller: 'task-helper-test/caller:latest',
});

/** The machine's CA bundle, which the build's `pnpm install` must trust where outbound TLS is re-signed. */
const hostCaBundle = (): string | undefined =>
  [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find(
    (file): file is string => !!file && existsSync(file),
  );

const STAMP = 'task-helper.test.checkout';
const LOCK = '/tmp/task-helper-image-build.lock';

/** The files of a clean checkout of this working tree. */
function checkoutFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(path.join(root, file)));
}

function checkoutHash(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(root, file)));
  return hash.digest('hex').slice(0, 16);
}

const stampOf = async (image: string): Promise<string | undefined> => {
  const out = await docker(['image', 'inspect', '--format', `{{index .Config.Labels "${STAMP}"}}`, image]);
  return out.code === 0 ? out.stdout.trim() : undefined;
};

async function current(hash: string): Promise<boolean> {
  for (const image of Object.values(images)) if ((await stampOf(image)) !== hash) return false;
  return true;
}

async function withLock<T>(work: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch {
      const holder = Number(readFileSync(path.join(LOCK, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      if (holder && !isAlive(holder)) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`image build lock ${LOCK} still held by pid ${holder}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The label value this checkout's images carry (what buildImages stamps them with). */
export const checkoutStamp = (): string => checkoutHash(checkoutFiles());

/** The checkout an image was built from (its stamp), if it carries one. */
export const imageStamp = stampOf;

export interface BuildTimes {
  helperMs: number;
  envoyMs: number;
  appMs: number;
}

/** Builds the three images unless this checkout's are already built; returns what each build took (0: kept). */
export async function buildImages(): Promise<BuildTimes> {
  const files = checkoutFiles();
  const hash = checkoutHash(files);
  const times: BuildTimes = { helperMs: 0, envoyMs: 0, appMs: 0 };
  if (await current(hash)) return times;
  return withLock(async () => {
    if (await current(hash)) return times;
    const work = mkdtempSync('/var/tmp/task-helper-build-');
    try {
      const checkout = path.join(work, 'checkout');
      for (const file of files) {
        mkdirSync(path.dirname(path.join(checkout, file)), { recursive: true });
        copyFileSync(path.join(root, file), path.join(checkout, file));
      }
      const ca = hostCaBundle();
      // Only in the build context of this build; the Dockerfile keeps it in its build stage.
      if (ca) copyFileSync(ca, path.join(checkout, 'build-ca.pem'));
      const label = ['--label', `${STAMP}=${hash}`];
      times.helperMs = await timed(() => buildOne([...label, '-t', images.helper, checkout]));
      times.envoyMs = await timed(() =>
        buildOne([...label, '-t', images.envoy, path.join(checkout, 'examples/envoy')]),
      );
      const app = path.join(work, 'app');
      mkdirSync(app);
      copyFileSync(path.join(root, 'test/container/app-image/Dockerfile'), path.join(app, 'Dockerfile'));
      await build({
        absWorkingDir: root,
        entryPoints: ['packages/envoy-sim/src/toy-app-cli.ts'],
        outfile: path.join(app, 'toy-app.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node24',
        logLevel: 'warning',
      });
      times.appMs = await timed(() => buildOne([...label, '-t', images.app, app]));
      await buildOne([...label, '-t', images.caller, path.join(checkout, 'test/container/caller-image')]);
      return times;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await work();
  return Date.now() - started;
}

/** The legacy builder (no BuildKit on these machines), on the host's network: the build reaches the registries. */
const buildOne = (args: string[]): Promise<string> =>
  dockerOk(['build', '--network', 'host', '--quiet', ...args], { timeoutMs: 600_000 });
