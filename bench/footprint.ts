// Part of `make bench`: what the helper costs while it waits, and how exact its waits are, on this
// machine and next to an empty `node` of the same binary measured the same way in the same run
// (interleaved), so the goals read against that floor: idle RSS at most GOAL_RSS_ABOVE_MB above
// it, and spawn → `ready` at most GOAL_READY_RATIO × its spawn → first line. Real processes and
// the Envoy simulator; memory is read from outside (/proc/<pid>/status VmRSS), CPU from
// /proc/<pid>/schedstat. It prints the figures and the goals' verdicts, it never asserts.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEnvoySim, startToyApp } from '@task-helper/envoy-sim';
import { freePort } from '../test/support/free-port.ts';
import { median, spread } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** How long to leave one helper of each kind idle before reading its memory again (the goal speaks of 10 minutes: BENCH_IDLE_S=600). */
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const CPU_WINDOW_MS = 5_000;
const DRAIN_DELAY_MS = 500;
const DRAIN_TIMEOUT_MS = 1_000;
const GOAL_RSS_ABOVE_MB = 8;
const GOAL_READY_RATIO = 2;
/**
 * What ECS (Fargate) and the image's node base set in the helper's container besides its settings,
 * for both the floor and the helper: the helper reads the whole environment at start (stray
 * variables), so an empty one would flatter it. Not the task metadata URIs: with them the helper
 * reads the task's metadata and stopTimeout, which needs a metadata endpoint and AWS.
 */
const TASK_ENV = {
  HOSTNAME: 'ip-10-0-1-23.eu-west-1.compute.internal',
  HOME: '/home/node',
  NODE_VERSION: process.versions.node,
  YARN_VERSION: '1.22.22',
  AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
  AWS_REGION: 'eu-west-1',
  AWS_DEFAULT_REGION: 'eu-west-1',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/0f9b7f3e-3c1e-4f5a-9d6b-2a1c7e8f9a0b',
};

const root = path.resolve(import.meta.dirname, '..');
const log = (text: string) => void process.stderr.write(`${text}\n`);
execFileSync(process.execPath, ['scripts/build.ts'], { cwd: root, stdio: ['ignore', 2, 2] });

interface Variant {
  name: string;
  args: string[];
  drains: boolean;
  /** What the image's Dockerfile sets for it besides the task's environment. */
  env?: Record<string, string>;
}
const variants: Variant[] = [
  {
    name: 'empty node (floor)',
    args: ['-e', 'console.log(JSON.stringify({ msg: "ready" })); setInterval(() => {}, 2 ** 30)'],
    drains: false,
  },
  {
    name: 'helper, bundle (image)',
    args: [path.join(root, 'dist/task-helper/node_modules/@task-helper/cli/dist/cli.mjs'), 'run'],
    drains: true,
    // The code cache scripts/build.ts warms, as the image's NODE_COMPILE_CACHE is.
    env: { NODE_COMPILE_CACHE: path.join(root, 'dist/task-helper/compile-cache') },
  },
  {
    // Kubernetes: the same bundle with its preStop endpoint listening (PRESTOP_PORT); one helper runs at a time, so one port does.
    name: 'helper, bundle, PRESTOP_PORT',
    args: [path.join(root, 'dist/task-helper/node_modules/@task-helper/cli/dist/cli.mjs'), 'run'],
    drains: true,
    env: {
      NODE_COMPILE_CACHE: path.join(root, 'dist/task-helper/compile-cache'),
      PRESTOP_HOST: '127.0.0.1',
      PRESTOP_PORT: String(await freePort()),
      STOP_TIMEOUT: '30',
    },
  },
  {
    name: 'helper, sources',
    args: ['--conditions=@task-helper/source', path.join(root, 'packages/cli/src/cli.ts'), 'run'],
    drains: true,
  },
];

interface Sample {
  /** Spawn → the first line on stdout. */
  firstLineMs: number;
  /** Spawn → the `ready` line (the floor's first line is its `ready`). */
  readyMs: number;
  /** CPU time of the main thread at `ready`: what a busy machine's waits do not inflate. */
  readyCpuMs: number;
  rssMb: number;
  /** The part of rssMb mapped from files, the node binary's pages mostly: it moves with the page cache. */
  fileMb: number;
  idleCpuMsPerS: number;
  failBeyondDelayMs?: number;
  timeoutErrorMs?: number;
  idleRssDeltaMb?: number;
}

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const statusMb = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status(pid))![1]) / 1024;
const rssMb = (pid: number) => statusMb(pid, 'VmRSS');
const mainThreadCpuMs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
// utime + stime, in clock ticks of 10 ms.
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

const app = await startToyApp();
const envoy = await startEnvoySim({ upstream: app.url });
const cwd = mkdtempSync(path.join(tmpdir(), 'task-helper-bench-'));

async function measure(variant: Variant, idleS: number): Promise<Sample> {
  await fetch(`${envoy.adminUrl}/healthcheck/ok`, { method: 'POST' });
  const env = {
    PATH: process.env.PATH ?? '',
    ...TASK_ENV,
    ENVOY_ADMIN_URL: envoy.adminUrl,
    PORT: String(app.port),
    DRAIN_DELAY: String(DRAIN_DELAY_MS / 1000),
    DRAIN_TIMEOUT: String(DRAIN_TIMEOUT_MS / 1000),
    ...variant.env,
  };
  const started = performance.now();
  const child = spawn(process.execPath, variant.args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let firstLineMs: number | undefined;
  await new Promise<void>((resolve) =>
    lines.on('line', (line) => {
      firstLineMs ??= performance.now() - started;
      if (line.includes('"msg":"ready"')) resolve();
    }),
  );
  const readyMs = performance.now() - started;
  const pid = child.pid!;
  const readyCpuMs = mainThreadCpuMs(pid);
  await sleep(1_000);
  const sample: Sample = {
    firstLineMs: firstLineMs!,
    readyMs,
    readyCpuMs,
    rssMb: rssMb(pid),
    fileMb: statusMb(pid, 'RssFile'),
    idleCpuMsPerS: 0,
  };
  const cpuBefore = cpuMs(pid);
  await sleep(CPU_WINDOW_MS);
  sample.idleCpuMsPerS = ((cpuMs(pid) - cpuBefore) * 1000) / CPU_WINDOW_MS;
  if (idleS > 0) {
    await sleep(idleS * 1000);
    sample.idleRssDeltaMb = rssMb(pid) - sample.rssMb;
  }
  const exited = once(child, 'close');
  const signalAt = Date.now();
  child.kill('SIGTERM');
  await exited;
  const exitAt = Date.now();
  if (variant.drains) {
    const fail = envoy.calls.find((call) => call.path === '/healthcheck/fail' && call.at >= signalAt);
    if (fail) {
      sample.failBeyondDelayMs = fail.at - signalAt - DRAIN_DELAY_MS;
      sample.timeoutErrorMs = exitAt - fail.at - DRAIN_TIMEOUT_MS;
    }
  }
  return sample;
}

const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]));
const loadBefore = loadavg()[0]!;
log(`footprint: ${RUNS} runs per kind, Node ${process.version}; one run of each idles ${IDLE_S} s more`);
for (let run = 1; run <= RUNS; run += 1) {
  // Interleaved, so a slow moment of the machine does not land on one kind only.
  for (const variant of variants) {
    const sample = await measure(variant, run === 1 ? IDLE_S : 0);
    samples.get(variant)!.push(sample);
    log(
      `run ${run} ${variant.name}: ready ${sample.readyMs.toFixed(0)} ms, ${sample.rssMb.toFixed(1)} MB, idle CPU ${sample.idleCpuMsPerS} ms/s`,
    );
  }
}
await envoy.close();
await app.close();

const loadAfter = loadavg()[0]!;
const [floor, bundle] = variants;
const of = (variant: Variant, pick: (s: Sample) => number | undefined) =>
  samples
    .get(variant)!
    .map(pick)
    .filter((n): n is number => n !== undefined);
const mid = (variant: Variant, pick: (s: Sample) => number) => median(of(variant, pick));
const fixed = (digits: number) => (n: number) => n.toFixed(digits);
/** The median against the floor's: `×n` (a ratio) or `+n` (a difference). */
type Against = (variant: Variant) => string;
const ratioTo =
  (pick: (s: Sample) => number, floorPick: (s: Sample) => number): Against =>
  (variant) =>
    variant === floor ? '' : ` ×${(mid(variant, pick) / mid(floor!, floorPick)).toFixed(2)}`;
const above =
  (pick: (s: Sample) => number): Against =>
  (variant) =>
    variant === floor ? '' : ` +${(mid(variant, pick) - mid(floor!, pick)).toFixed(1)}`;
const row = (
  figure: string,
  goal: string,
  pick: (s: Sample) => number | undefined,
  digits: number,
  against: Against = () => '',
) =>
  `| ${figure} | ${goal} | ${variants.map((v) => `${spread(of(v, pick), fixed(digits))}${against(v)}`).join(' | ')} |`;

const ready = (s: Sample) => s.readyMs;
const firstLine = (s: Sample) => s.firstLineMs;
const rss = (s: Sample) => s.rssMb;
const readyRatio = mid(bundle!, ready) / mid(floor!, firstLine);
const rssAbove = mid(bundle!, rss) - mid(floor!, rss);
const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');
const out = [
  `Footprint on Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)}; load average ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end.`,
  `Median (min–max) of ${RUNS} interleaved runs; ×n and +n: the median against the empty-node floor's in the same run.`,
  `Default sidecar (no config file, AWS plugins unconfigured) with a task's environment (ECS's and the node image's variables), Envoy simulator and app up; DRAIN_DELAY=${DRAIN_DELAY_MS / 1000} DRAIN_TIMEOUT=${DRAIN_TIMEOUT_MS / 1000}; idle CPU over ${CPU_WINDOW_MS / 1000} s (10 ms ticks).`,
  '',
  `| figure | goal | ${variants.map((v) => v.name).join(' | ')} |`,
  `|---|---|${variants.map(() => '---').join('|')}|`,
  row('spawn → first line (ms)', '', firstLine, 0),
  row('spawn → `ready` (ms)', `≤ ${GOAL_READY_RATIO} × floor's first line`, ready, 0, ratioTo(ready, firstLine)),
  row(
    'main-thread CPU at `ready` (ms)',
    '',
    (s) => s.readyCpuMs,
    1,
    ratioTo(
      (s) => s.readyCpuMs,
      (s) => s.readyCpuMs,
    ),
  ),
  row('idle RSS after `ready` (MB)', `≤ floor + ${GOAL_RSS_ABOVE_MB}`, rss, 1, above(rss)),
  row(
    'of which mapped from files (MB)',
    '',
    (s) => s.fileMb,
    1,
    above((s) => s.fileMb),
  ),
  row('CPU per idle second (ms)', '0', (s) => s.idleCpuMsPerS, 1),
  row('SIGTERM → `/healthcheck/fail` beyond DRAIN_DELAY (ms)', '≤ 10', (s) => s.failBeyondDelayMs, 0),
  row('DRAIN_TIMEOUT accuracy: exit − fail − DRAIN_TIMEOUT (ms)', '≤ 20', (s) => s.timeoutErrorMs, 0),
  row(`RSS after ${IDLE_S} more idle s − after \`ready\` (MB, one run)`, '± 1', (s) => s.idleRssDeltaMb, 1),
  '',
  `Goal "idle RSS ≤ floor + ${GOAL_RSS_ABOVE_MB} MB" for ${bundle!.name}: ${verdict(rssAbove <= GOAL_RSS_ABOVE_MB)} (+${rssAbove.toFixed(1)} MB: ${mid(bundle!, rss).toFixed(1)} against ${mid(floor!, rss).toFixed(1)}).`,
  `Goal "spawn → \`ready\` ≤ ${GOAL_READY_RATIO} × the floor's spawn → first line" for ${bundle!.name}: ${verdict(readyRatio <= GOAL_READY_RATIO)} (×${readyRatio.toFixed(2)}: ${mid(bundle!, ready).toFixed(0)} ms against ${mid(floor!, firstLine).toFixed(0)} ms).`,
];
process.stdout.write(`${out.join('\n')}\n\n`);
