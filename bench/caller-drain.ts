// Part of `make bench`: the traffic-aware end (DRAIN_MIN) seen from real callers: a calling
// service's own Envoy 1.40 in front of two tasks (toy app + Envoy 1.40 each), with active health
// checks or outlier detection only (test/support/caller-drain.ts), SIGTERM to task A's helper
// after the load has run a while. Each case: how long after /healthcheck/fail the helper exits,
// how long after the last answer from task A, how the DRAIN_TIMEOUT wait ended, and the failed
// requests. The peer column is Envoy Gateway's shutdown manager in the same cases, as issue 20
// gives it (not re-measured here). Prints a markdown table; never asserts.
// `node --conditions=@task-helper/source bench/caller-drain.ts` alone regenerates it.
import { availableParallelism, loadavg } from 'node:os';
import { runCallerDrain, type CallerDrainOptions } from '../test/support/caller-drain.ts';
import { callerHealthCheck } from '../test/support/caller-envoy.ts';
import { hasRealEnvoy } from '../test/support/envoy-binary.ts';
import { envoyVersion } from '../test/support/real-envoy.ts';
import { spread } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const log = (text: string) => void process.stderr.write(`${text}\n`);

interface Case {
  name: string;
  callers: string;
  options: CallerDrainOptions;
  /** Envoy Gateway's shutdown manager, issue 20's figure: fail → exit (s), or what it does. */
  peer: string;
}

const traffic = { DRAIN_DELAY: '2', DRAIN_MIN: '1', DRAIN_TIMEOUT: '20' };
const underLoad = { concurrency: 4, pauseMs: 5 };
const sparse = { concurrency: 1, pauseMs: 250 };
const cases: Case[] = [
  {
    name: 'callers under load',
    callers: 'active health checks; 4 keep-alive loops, 5 ms apart',
    options: { checks: 'active', helperEnv: traffic, load: underLoad },
    peer: '1.06',
  },
  {
    name: '4 s request in flight',
    callers: 'active health checks; under load, and one 4 s request to A sent at SIGTERM',
    options: { checks: 'active', helperEnv: traffic, load: underLoad, slowMs: 4_000 },
    peer: '2.06',
  },
  {
    name: 'sparse callers',
    callers: 'active health checks; 1 loop, 250 ms apart',
    options: { checks: 'active', helperEnv: traffic, load: sparse },
    peer: '1.06',
  },
  {
    name: 'sparse callers, no active health checks',
    callers: 'outlier detection only; 1 loop, 250 ms apart',
    options: { checks: 'outlier-only', helperEnv: { ...traffic, DRAIN_TIMEOUT: '5' }, load: sparse },
    peer: 'ends while they send',
  },
  {
    name: 'callers under load, no active health checks',
    callers: 'outlier detection only; 4 keep-alive loops, 5 ms apart',
    options: { checks: 'outlier-only', helperEnv: { ...traffic, DRAIN_TIMEOUT: '5' }, load: underLoad },
    peer: 'ends while they send',
  },
];

interface Sample {
  afterFailMs: number;
  /** Exit − the last answer from task A; NaN if A never answered after SIGTERM. */
  afterLastMs: number;
  early: boolean;
  quietMs: number;
  failures: number;
}
const samples = new Map<Case, Sample[]>(cases.map((c) => [c, []]));
const errors = new Map<Case, number>(cases.map((c) => [c, 0]));

if (!hasRealEnvoy()) {
  process.stdout.write('Caller Envoy table: skipped (no real Envoy at .tools/bin/envoy: run `make setup`).\n');
} else {
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const started = Date.now();
  log(
    `bench caller-drain: ${RUNS} runs × ${cases.length} cases, Node ${process.version}, ${availableParallelism()} CPUs`,
  );
  // Interleaved, so a slow moment of the machine does not land on one case only.
  for (let run = 1; run <= RUNS; run += 1) {
    for (const c of cases) {
      try {
        const r = await runCallerDrain(c.options);
        const sample: Sample = {
          afterFailMs: r.exitAt - r.failAt,
          afterLastMs: r.lastServedByA > r.sigtermAt ? r.exitAt - r.lastServedByA : Number.NaN,
          early: r.endedBy === 'traffic stopped',
          quietMs: Number(r.quietPeriod?.quietMs ?? r.trafficStopped?.quietPeriodMs ?? Number.NaN),
          failures: r.failures.length,
        };
        samples.get(c)!.push(sample);
        log(
          `run ${run} ${c.name}: exit ${sample.afterFailMs} ms after the fail, ${sample.afterLastMs} ms after A's last answer, ${String(r.endedBy)}, quiet ${sample.quietMs} ms, ${sample.failures} failed`,
        );
      } catch (error) {
        errors.set(c, errors.get(c)! + 1);
        log(`run ${run} ${c.name}: ERROR ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
    }
  }
  const secs = (ms: number) => (ms / 1000).toFixed(2);
  const out = [
    `Traffic-aware end on real callers: a caller's own Envoy ${envoyVersion().split('/')[1]} in front of two tasks (toy app + Envoy each), median (min–max) of ${RUNS} runs; ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} CPUs, load average ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
    `Helper: ${Object.entries(traffic)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ' ',
      )} (DRAIN_TIMEOUT=5 with outlier-only callers), DRAIN_QUIET_PERIOD default; active health checks every ${callerHealthCheck.intervalMs} ms, unhealthy after ${callerHealthCheck.unhealthyThreshold}.`,
    '',
    '| case | callers | /healthcheck/fail → exit (s) | last answer from A → exit (s) | quiet period (ms) | ended by "traffic stopped" | failed requests | Envoy Gateway (issue 20) | errored runs |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of cases) {
    const got = samples.get(c)!;
    const pick = (f: (s: Sample) => number) => got.map(f).filter((n) => !Number.isNaN(n));
    out.push(
      `| ${c.name} | ${c.callers} | ${spread(
        pick((s) => s.afterFailMs),
        secs,
      )} | ${spread(
        pick((s) => s.afterLastMs),
        secs,
      )} | ${spread(
        pick((s) => s.quietMs),
        String,
      )} | ${got.filter((s) => s.early).length}/${got.length} | ${spread(
        pick((s) => s.failures),
        String,
      )} | ${c.peer} | ${errors.get(c)} |`,
    );
  }
  out.push(`(${RUNS * cases.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}
