// Part of `make bench`: what the image costs on top of its base. Its size is the bytes the
// Dockerfile's own layers add to `node:24-alpine` (here the local stand-in that
// scripts/base-images.sh makes; the layers are the same on the real one); its start is
// `docker run` → the helper's `ready` line, beside the floor: the bare base image running
// `node -e` that prints a line, measured the same way in the same run. Needs the Docker engine
// (make bench starts it); without one it prints why and moves on. It prints, it never asserts.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { docker, dockerMissing, dockerOk, TEST_LABEL } from '../test/support/docker.ts';
import { buildImages, images } from '../test/support/docker-images.ts';
import { spread } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BASE = 'node:24-alpine';

let missing: string | undefined;
try {
  missing = dockerMissing();
} catch (error) {
  missing = (error as Error).message;
}

/** Milliseconds from spawning `docker run` to the first stdout line matching `ready`. */
async function runToReady(args: string[], ready: RegExp): Promise<number> {
  const name = `task-helper-bench-${process.pid}-${Date.now()}`;
  const started = performance.now();
  const child = spawn('docker', ['run', '--rm', '--name', name, '--network', 'none', '--label', TEST_LABEL, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line from ${args.join(' ')} within 60 s`)), 60_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!ready.test(line)) return;
        clearTimeout(timer);
        resolve(performance.now() - started);
      });
      child.once('exit', (code) => reject(new Error(`docker run ${args.join(' ')} exited ${code} before ready`)));
    });
  } finally {
    await docker(['rm', '-f', name]);
  }
}

const size = async (image: string): Promise<number> =>
  Number(await dockerOk(['image', 'inspect', '--format', '{{.Size}}', image]));

if (missing) {
  process.stdout.write(`Image table skipped: ${missing}\n\n`);
} else {
  await buildImages();
  const added = (await size(images.helper)) - (await size(BASE));
  // The layers above the base's: `docker history` lists the image's own layers first.
  const baseLayers = (await dockerOk(['history', '--quiet', BASE])).split('\n').length;
  const own = (await dockerOk(['history', '--format', '{{.Size}}\t{{.CreatedBy}}', images.helper]))
    .split('\n')
    .slice(0, -baseLayers)
    .map((line) => line.split('\t'))
    .filter(([bytes]) => bytes !== '0B')
    .map(
      ([bytes, by]) =>
        `${/COPY file/.test(by ?? '') ? 'tini' : /COPY dir/.test(by ?? '') ? 'the bundle' : 'the task-helper link'} ${bytes}`,
    );

  const helper: number[] = [];
  const floor: number[] = [];
  for (let run = 1; run <= RUNS; run += 1) {
    floor.push(await runToReady([BASE, 'node', '-e', 'console.log("ready")'], /^ready$/));
    helper.push(await runToReady(['-e', 'ENVOY_WAIT_READY=false', images.helper], /"msg":"ready"/));
  }
  const ms = (n: number) => n.toFixed(0);
  process.stdout.write(
    [
      `The image (${images.helper}) on ${BASE}, dockerd ${await dockerOk(['version', '--format', '{{.Server.Version}}'])}: bytes its own layers add to the base (${own.join('; ')}), and \`docker run\` → first line, median (min–max) of ${RUNS} runs.`,
      '',
      '| what | value |',
      '|---|---|',
      `| bytes added to ${BASE} | ${(added / 1e6).toFixed(2)} MB (${added} B) |`,
      `| \`docker run\` → \`ready\`, the helper (ENVOY_WAIT_READY=false, no network) | ${spread(helper, ms)} ms |`,
      `| \`docker run\` → a line, \`node -e\` on the bare ${BASE} (floor) | ${spread(floor, ms)} ms |`,
      '',
      '',
    ].join('\n'),
  );
}
