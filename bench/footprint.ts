// Part of `make bench`: what the helper costs while it waits, and how exact its waits are, on this
// machine and next to an empty `node` measured in the same run, so the table reads as ratios.
// Real processes and the Envoy simulator; it prints, it never asserts.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEnvoySim, startToyApp } from '@task-helper/envoy-sim';
import { spread } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** How long to leave one helper of each kind idle before reading its memory again (the goal speaks of 10 minutes: BENCH_IDLE_S=600). */
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const CPU_WINDOW_MS = 5_000;
const DRAIN_DELAY_MS = 500;
const DRAIN_TIMEOUT_MS = 1_000;

const root = path.resolve(import.meta.dirname, '..');
const log = (text: string) => void process.stderr.write(`${text}\n`);
execFileSync(process.execPath, ['scripts/build.ts'], { cwd: root, stdio: ['ignore', 2, 2] });

interface Variant {
  name: string;
  args: string[];
  drains: boolean;
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
  },
  {
    name: 'helper, sources',
    args: ['--conditions=@task-helper/source', path.join(root, 'packages/cli/src/cli.ts'), 'run'],
    drains: true,
  },
];

interface Sample {
  readyMs: number;
  rssMb: number;
  idleCpuMsPerS: number;
  failBeyondDelayMs?: number;
  timeoutErrorMs?: number;
  idleRssDeltaMb?: number;
}

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(status(pid))![1]) / 1024;
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
    ENVOY_ADMIN_URL: envoy.adminUrl,
    PORT: String(app.port),
    DRAIN_DELAY: String(DRAIN_DELAY_MS / 1000),
    DRAIN_TIMEOUT: String(DRAIN_TIMEOUT_MS / 1000),
  };
  const started = performance.now();
  const child = spawn(process.execPath, variant.args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve) => lines.on('line', (line) => line.includes('"msg":"ready"') && resolve()));
  const readyMs = performance.now() - started;
  const pid = child.pid!;
  await sleep(1_000);
  const sample: Sample = { readyMs, rssMb: rssMb(pid), idleCpuMsPerS: 0 };
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

const floor = samples.get(variants[0]!)!;
const of = (variant: Variant, pick: (s: Sample) => number | undefined) =>
  samples
    .get(variant)!
    .map(pick)
    .filter((n): n is number => n !== undefined);
const fixed = (digits: number) => (n: number) => n.toFixed(digits);
const ratio = (variant: Variant, pick: (s: Sample) => number) => {
  const ours = of(variant, pick).sort((a, b) => a - b);
  const base = floor.map(pick).sort((a, b) => a - b);
  return variant === variants[0]
    ? ''
    : ` ×${(ours[Math.floor(ours.length / 2)]! / base[Math.floor(base.length / 2)]!).toFixed(2)}`;
};
const row = (
  figure: string,
  goal: string,
  pick: (s: Sample) => number | undefined,
  digits: number,
  withRatio = false,
) =>
  `| ${figure} | ${goal} | ${variants.map((v) => `${spread(of(v, pick), fixed(digits))}${withRatio ? ratio(v, pick as (s: Sample) => number) : ''}`).join(' | ')} |`;

const out = [
  `Footprint on Node ${process.version}: median (min–max) of ${RUNS} runs; ×n = the median against the empty-node floor of the same run.`,
  `Default config from the environment, Envoy simulator and app up; DRAIN_DELAY=${DRAIN_DELAY_MS / 1000} DRAIN_TIMEOUT=${DRAIN_TIMEOUT_MS / 1000}; idle CPU over ${CPU_WINDOW_MS / 1000} s (10 ms ticks).`,
  '',
  `| figure | goal | ${variants.map((v) => v.name).join(' | ')} |`,
  `|---|---|${variants.map(() => '---').join('|')}|`,
  row('spawn → `ready` (ms)', '≤ 60', (s) => s.readyMs, 0, true),
  row('idle RSS after `ready` (MB)', '≤ 50', (s) => s.rssMb, 1, true),
  row('CPU per idle second (ms)', '0', (s) => s.idleCpuMsPerS, 1),
  row('SIGTERM → `/healthcheck/fail` beyond DRAIN_DELAY (ms)', '≤ 10', (s) => s.failBeyondDelayMs, 0),
  row('DRAIN_TIMEOUT accuracy: exit − fail − DRAIN_TIMEOUT (ms)', '≤ 20', (s) => s.timeoutErrorMs, 0),
  row(`RSS after ${IDLE_S} more idle s − after \`ready\` (MB, one run)`, '± 1', (s) => s.idleRssDeltaMb, 1),
];
process.stdout.write(`${out.join('\n')}\n\n`);
