// Part of `make bench`: how long after spawn the helper's stop-signal handlers exist. Before that
// moment SIGTERM kills it outright (Node's default action), the one case it cannot help, so this
// must stay short. Measured from outside on real processes: SIGTERM at d ms after spawn either
// kills the process (no handler yet) or starts a drain (handler installed); a bisection on d per
// run finds the moment. Node's own SIGTERM handler (it restores the terminal, then re-raises)
// hides ours in /proc's SigCgt, hence this. It prints, it never asserts.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEnvoySim, startToyApp } from '@task-helper/envoy-sim';
import { spread } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RESOLUTION_MS = 2;
const root = path.resolve(import.meta.dirname, '..');
execFileSync(process.execPath, ['scripts/build.ts'], { cwd: root, stdio: ['ignore', 2, 2] });

/** True when SIGTERM sent `delayMs` after spawn found a handler (the process exited by itself, not by the signal). */
async function caughtAt(args: string[], env: Record<string, string>, delayMs: number): Promise<boolean> {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'ignore',
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await sleep(delayMs);
  child.kill('SIGTERM');
  const [, signal] = await exited;
  return signal !== 'SIGTERM';
}

/** The smallest delay (to RESOLUTION_MS) at which SIGTERM is caught. */
async function handlerInstalledMs(args: string[], env: Record<string, string>): Promise<number> {
  let lo = 0;
  let hi = 1_000;
  while (hi - lo > RESOLUTION_MS) {
    const mid = Math.floor((lo + hi) / 2);
    if (await caughtAt(args, env, mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

const app = await startToyApp();
const envoy = await startEnvoySim({ upstream: app.url });
const env = { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port), DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' };
const variants = [
  {
    name: 'empty node with a SIGTERM handler (floor)',
    args: ['-e', 'process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 2 ** 30)'],
  },
  {
    name: 'helper, bundle (image)',
    args: [path.join(root, 'dist/task-helper/node_modules/@task-helper/cli/dist/cli.mjs'), 'run'],
  },
  {
    name: 'helper, sources',
    args: ['--conditions=@task-helper/source', path.join(root, 'packages/cli/src/cli.ts'), 'run'],
  },
];
const samples = new Map(variants.map((v) => [v, [] as number[]]));
for (let run = 1; run <= RUNS; run += 1) {
  for (const variant of variants) {
    samples.get(variant)!.push(await handlerInstalledMs(variant.args, env));
  }
}
await envoy.close();
await app.close();
process.stdout.write(
  [
    `Spawn → SIGTERM handler installed (ms), median (min–max) of ${RUNS} runs to ${RESOLUTION_MS} ms, Node ${process.version}: a stop signal before it kills the helper outright.`,
    '',
    '| variant | ms |',
    '|---|---|',
    ...variants.map((v) => `| ${v.name} | ${spread(samples.get(v)!, (n) => n.toFixed(0))} |`),
    '',
    '',
  ].join('\n'),
);
