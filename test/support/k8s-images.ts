import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildImages, checkoutStamp, imageStamp, images } from './docker-images.ts';
import { docker, dockerOk, TEST_LABEL } from './docker.ts';
import { NODE_RUN_DIR } from './k8s.ts';

/**
 * The images the manifests of examples/kubernetes/ name, made as the container tests make them
 * (test/support/docker-images.ts: the repository's Dockerfiles on the shared Docker engine) and
 * imported into the node's containerd (`docker save` | `ctr -n k8s.io images import`): no registry
 * is reachable, and the manifests' `imagePullPolicy: IfNotPresent` then finds them. Also the
 * shell-less helper: the same bundle, Node and tini on an empty base, as a distroless image has it.
 */

/** The helper image without a shell: /opt/task-helper, Node, its libraries and tini, nothing else. */
export const SHELL_LESS_HELPER = 'task-helper-test/task-helper-no-shell:latest';

const IMPORTED = '/var/lib/task-helper-k8s/imported-images.json';

const ctr = (args: string[]): string =>
  execFileSync('ctr', ['--address', `${NODE_RUN_DIR}/containerd.sock`, '-n', 'k8s.io', ...args], { encoding: 'utf8' });

async function buildShellLess(): Promise<void> {
  const work = mkdtempSync('/var/tmp/task-helper-no-shell-');
  try {
    // The shared libraries Node links against, read from the full image itself.
    const libs = (
      await dockerOk([
        'run',
        '--rm',
        '--label',
        TEST_LABEL,
        '--network',
        'none',
        '--entrypoint',
        'ldd',
        images.helper,
        '/usr/local/bin/node',
      ])
    )
      .split('\n')
      .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
      .filter((lib): lib is string => !!lib);
    writeFileSync(
      path.join(work, 'Dockerfile'),
      [
        `FROM ${images.helper} AS full`,
        'FROM scratch',
        ...libs.map((lib) => `COPY --from=full ${lib} ${lib}`),
        'COPY --from=full /usr/local/bin/node /usr/local/bin/node',
        'COPY --from=full /sbin/tini /sbin/tini',
        'COPY --from=full /opt/task-helper /opt/task-helper',
        'COPY --from=full /etc/passwd /etc/group /etc/',
        'ENV NODE_COMPILE_CACHE=/opt/task-helper/compile-cache',
        'WORKDIR /opt/task-helper/config',
        'USER node',
        'ENTRYPOINT ["/sbin/tini", "-s", "--", "/usr/local/bin/node", "/opt/task-helper/node_modules/@task-helper/cli/dist/cli.mjs"]',
        'CMD ["run"]',
        '',
      ].join('\n'),
    );
    await dockerOk(['build', '--network', 'host', '--quiet', '-t', SHELL_LESS_HELPER, work], { timeoutMs: 300_000 });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** containerd's name for a Docker reference: a registry host first, else docker.io (library/ for one word). */
const fullName = (image: string): string => {
  const first = image.split('/')[0]!;
  if (image.includes('/') && (first.includes('.') || first.includes(':'))) return image;
  return `docker.io/${image.includes('/') ? image : `library/${image}`}`;
};

/**
 * This checkout's images, each pinned under a tag of its own the moment it is known to be this
 * checkout's build: on a shared engine another checkout may retag `task-helper:latest` at any time.
 */
async function pinnedImages(): Promise<Map<string, string>> {
  for (let attempt = 1; ; attempt += 1) {
    await buildImages();
    await buildShellLess();
    const stamp = checkoutStamp();
    const pinned = new Map<string, string>();
    for (const image of [images.helper, images.envoy, images.app]) {
      const pin = `task-helper-k8s/import:${image.replace(/[^a-z0-9]+/gi, '-').slice(-60)}-${stamp}`;
      await dockerOk(['tag', image, pin]);
      if ((await imageStamp(pin)) === stamp) pinned.set(image, pin);
    }
    pinned.set(SHELL_LESS_HELPER, SHELL_LESS_HELPER);
    if (pinned.size === 4) return pinned;
    if (attempt === 3) throw new Error(`the images were retagged by another build 3 times while importing them`);
  }
}

/** Builds what changed, then imports into the node each image whose Docker id it does not hold yet. */
export async function importImages(): Promise<void> {
  const pinned = await pinnedImages();
  let imported: Record<string, string> = {};
  try {
    imported = JSON.parse(readFileSync(IMPORTED, 'utf8')) as Record<string, string>;
  } catch {}
  const present = new Set(ctr(['images', 'ls', '-q']).split('\n'));
  const stale: string[] = [];
  for (const [image, pin] of pinned) {
    const id = (await dockerOk(['image', 'inspect', '--format', '{{.Id}}', pin])).trim();
    if (imported[image] !== id || !present.has(fullName(image))) stale.push(image);
    imported[image] = id;
  }
  if (stale.length > 0) {
    const save = spawn('docker', ['save', ...stale.map((image) => pinned.get(image)!)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const load = spawn(
      'ctr',
      ['--address', `${NODE_RUN_DIR}/containerd.sock`, '-n', 'k8s.io', 'images', 'import', '-'],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    save.stdout.pipe(load.stdin);
    const errors: string[] = [];
    save.stderr.on('data', (c: Buffer) => errors.push(c.toString()));
    load.stderr.on('data', (c: Buffer) => errors.push(c.toString()));
    const [[saveCode], [loadCode]] = await Promise.all([once(save, 'close'), once(load, 'close')]);
    if (saveCode !== 0 || loadCode !== 0)
      throw new Error(`importing ${stale.join(', ')} into the node: ${errors.join('').trim()}`);
    // Under the names the manifests use.
    for (const image of stale)
      if (pinned.get(image) !== image) ctr(['images', 'tag', '--force', fullName(pinned.get(image)!), fullName(image)]);
  }
  mkdirSync(path.dirname(IMPORTED), { recursive: true });
  writeFileSync(IMPORTED, JSON.stringify(imported, null, 2));
}

/** True when `image` has no /bin/sh (a container started with it as entrypoint fails). */
export async function hasNoShell(image: string): Promise<boolean> {
  const out = await docker([
    'run',
    '--rm',
    '--label',
    TEST_LABEL,
    '--network',
    'none',
    '--entrypoint',
    '/bin/sh',
    image,
    '-c',
    'true',
  ]);
  return out.code !== 0 && /no such file|not found|executable file/i.test(out.stderr);
}
