// Part of `make bench`: how long a task takes to stop and how many requests fail while it does, behind a
// real HAProxy with active health checks, under steady keep-alive load. The same setup as the
// end-to-end tests (test/e2e): two tasks (toy app + Envoy), SIGTERM to task A's helper, task A's
// Envoy and app stopped as soon as the helper exits. Each row names the Envoy it runs on: the real
// Envoy 1.40 with examples/envoy/envoy.yaml, or the simulator. Prints a markdown table; never asserts.
import { availableParallelism } from 'node:os';
import { runDrainScenario, type DrainScenarioResult } from '../test/support/drain-scenario.ts';
import { hasRealEnvoy } from '../test/support/envoy-binary.ts';
import { defaultHealthCheck, detectionLimitMs, haproxyVersion } from '../test/support/haproxy.ts';
import { defaultLoad, summarizeLoad } from '../test/support/load.ts';
import { envoyVersion } from '../test/support/real-envoy.ts';
import { startTask, type Task } from '../test/support/task.ts';
import { spread } from './stats.ts';
import { trafficAwareRow } from './traffic-aware.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const health = defaultHealthCheck;
const detectionMs = detectionLimitMs(health);
const s = (ms: number) => String(ms / 1000);

// DRAIN_MIN is the detection limit itself: by then HAProxy has failed `fall` checks in a row and
// stopped routing here; requests still arriving or in flight keep the drain going anyway.
const drainMinMs = detectionMs;
const fixedTimeoutMs = 2.5 * detectionMs;
const shortQuietMs = health.interMs / 2;

/** Where a row's tasks run. */
interface Target {
  name: string;
  startTask: () => Promise<Task>;
}
const realEnvoy: Target | undefined = hasRealEnvoy()
  ? { name: `Envoy ${envoyVersion().split('/')[1]}`, startTask: () => startTask({ envoy: 'example' }) }
  : undefined;
const simulator: Target = { name: 'Envoy simulator', startTask: () => startTask() };
/** Real Envoy when `make setup` installed it; the table says when it is not. */
const envoy = realEnvoy ?? simulator;

interface Case {
  name: string;
  target: Target;
  settings: string;
  env?: Record<string, string>;
  /** Evaluated against the goal. */
  trafficAware?: boolean;
}

const cases: Case[] = [
  { name: 'no helper', target: envoy, settings: 'task A stopped at "SIGTERM"' },
  {
    name: 'fixed drain',
    target: envoy,
    settings: `DRAIN_DELAY=0 DRAIN_TIMEOUT=${s(fixedTimeoutMs)}`,
    env: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: s(fixedTimeoutMs) },
  },
  {
    name: 'traffic-aware drain',
    target: envoy,
    settings: `DRAIN_DELAY=0 DRAIN_TIMEOUT=20 DRAIN_MIN=${s(drainMinMs)} (quiet period: default 1 s)`,
    env: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '20', DRAIN_MIN: s(drainMinMs) },
    trafficAware: true,
  },
  {
    name: 'traffic-aware drain, short quiet period',
    target: envoy,
    settings: `DRAIN_DELAY=0 DRAIN_TIMEOUT=20 DRAIN_MIN=${s(drainMinMs)} DRAIN_QUIET_PERIOD=${s(shortQuietMs)}`,
    env: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '20', DRAIN_MIN: s(drainMinMs), DRAIN_QUIET_PERIOD: s(shortQuietMs) },
    trafficAware: true,
  },
];

interface Sample {
  stopMs: number;
  failures: number;
  requests: number;
  exitCode: number | null | undefined;
}
const samples = new Map<Case, Sample[]>(cases.map((c) => [c, []]));
const errors = new Map<Case, string[]>(cases.map((c) => [c, []]));

const log = (text: string) => void process.stderr.write(`${text}\n`);
log(
  `bench: ${RUNS} runs × ${cases.length} cases, ${haproxyVersion()}, Node ${process.version}, ${availableParallelism()} CPUs`,
);
const benchStarted = Date.now();

// Interleaved, so a slow moment of the machine does not land on one case only.
for (let run = 1; run <= RUNS; run += 1) {
  for (const c of cases) {
    try {
      const result: DrainScenarioResult = await runDrainScenario({
        startTask: c.target.startTask,
        ...(c.env ? { helperEnv: c.env } : {}),
      });
      samples.get(c)!.push({
        stopMs: result.stopMs,
        failures: result.failures.length,
        requests: result.load.completed,
        exitCode: result.exit?.code,
      });
      log(
        `run ${run} ${c.name} (${c.target.name}): stop ${result.stopMs} ms, ${result.failures.length} failed; ${summarizeLoad(result.load)}`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      errors.get(c)!.push(message);
      log(`run ${run} ${c.name} (${c.target.name}): ERROR ${message}`);
    }
  }
}

const secs = (ms: number) => (ms / 1000).toFixed(2);
const count = (n: number) => String(n);

const out: string[] = [];
out.push(
  `Stop time (SIGTERM to helper exit) and failed requests while task A stops behind ${haproxyVersion().replace(/ - .*/, '')}, median (min–max) of ${RUNS} runs.`,
  realEnvoy
    ? `Each task: the toy app behind real ${realEnvoy.name} running examples/envoy/envoy.yaml (ports substituted) with examples/envoy/Dockerfile's flags.`
    : 'Each task: the toy app behind the Envoy simulator (no real Envoy at .tools/bin/envoy: run `make setup`).',
  `Health check every ${health.interMs} ms, DOWN after ${health.fall} failures: detection limit inter × fall = ${secs(detectionMs)} s.`,
  `Traffic-aware drain: DRAIN_MIN = detection limit = ${secs(drainMinMs)} s.`,
  `Load: ${defaultLoad.concurrency} keep-alive loops through HAProxy, ${defaultLoad.pauseMs} ms between requests, ${secs(defaultLoad.timeoutMs)} s timeout, no retries.`,
);
out.push('');
out.push('| case | Envoy | settings | stop time (s) | failed requests | detection limit (s) | errored runs |');
out.push('|---|---|---|---|---|---|---|');
for (const c of cases) {
  const got = samples.get(c)!;
  out.push(
    `| ${c.name} | ${c.target.name} | ${c.settings} | ${spread(
      got.map((g) => g.stopMs),
      secs,
    )} | ${spread(
      got.map((g) => g.failures),
      count,
    )} | ${secs(detectionMs)} | ${errors.get(c)!.length} |`,
  );
}
out.push(await trafficAwareRow(RUNS));
out.push('');
const goalMs = 1.75 * detectionMs;
for (const c of cases.filter((x) => x.trafficAware)) {
  const got = samples.get(c)!;
  const allZero = got.length > 0 && got.every((g) => g.failures === 0);
  const worstStop = got.length === 0 ? Infinity : Math.max(...got.map((g) => g.stopMs));
  const met = allZero && worstStop <= goalMs && errors.get(c)!.length === 0;
  out.push(
    `Goal "traffic-aware stop time ≤ 1.75 × detection limit (${s(goalMs)} s) with 0 failures" for ${c.name} (${c.target.name}): ${met ? 'MET' : 'NOT MET'} ` +
      `(slowest run ${secs(worstStop)} s; ${allZero ? '0 failures in every run' : 'failures in some run'}).`,
  );
}
out.push(`(${RUNS * cases.length} runs in ${((Date.now() - benchStarted) / 1000).toFixed(0)} s)`);
process.stdout.write(`${out.join('\n')}\n`);
