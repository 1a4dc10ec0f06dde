// Part of `make bench`: a rolling deploy of a service whose callers find it through Cloud Map (the
// rig of test/e2e/aws-rolling-deploy.test.ts, test/support/rolling-deploy.ts): two old tasks, two
// replacements registering as the old ones get SIGTERM, a control plane polling Cloud Map every 2 s
// into a real caller Envoy's EDS. Per case: SIGTERM to each old task's exit, failed requests, and
// the AWS calls each old task's helper made from SIGTERM to its exit. Prints a markdown table; never asserts.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { edsCallerHealthCheck } from '../test/support/eds-caller.ts';
import { hasRealEnvoy } from '../test/support/envoy-binary.ts';
import { defaultLoad } from '../test/support/load.ts';
import { startMoto } from '../test/support/moto.ts';
import { envoyVersion } from '../test/support/real-envoy.ts';
import { runRollingDeploy } from '../test/support/rolling-deploy.ts';
import { median, spread } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const POLL_MS = 2_000;
/** The default DRAIN_DELAY (40 s) scaled down by this, so 5 runs of each case fit a bench run. */
const SCALE = 4;
const FIXED_S = 40 / SCALE;
const PROPAGATION_S = 3;
const TIMEOUT_S = 1.5;

interface Case {
  name: string;
  settings: Record<string, string>;
}
const cases: Case[] = [
  { name: 'no delay (floor: the fastest stop)', settings: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: String(TIMEOUT_S) } },
  {
    name: `fixed delay, 40 s scaled to ${FIXED_S} s`,
    settings: { DRAIN_DELAY: String(FIXED_S), DRAIN_TIMEOUT: String(TIMEOUT_S) },
  },
  {
    name: 'DRAIN_DELAY_UNTIL=replacements',
    settings: {
      DRAIN_DELAY_UNTIL: 'replacements',
      DISCOVERY_PROPAGATION: String(PROPAGATION_S),
      DRAIN_DELAY: String(FIXED_S),
      DRAIN_TIMEOUT: String(TIMEOUT_S),
    },
  },
];

interface Sample {
  /** Per stopped task. */
  stopMs: number[];
  failMs: number[];
  calls: number[];
  failures: number;
  apis: string[];
  /** Helpers that exited other than 0, with their first warning or error. */
  badExits: string[];
}
const samples = new Map<Case, Sample[]>(cases.map((c) => [c, []]));
const errors = new Map<Case, string[]>(cases.map((c) => [c, []]));
const log = (text: string) => void process.stderr.write(`${text}\n`);

if (!hasRealEnvoy()) {
  process.stdout.write('Deploy table skipped: no real Envoy at .tools/bin/envoy (run `make setup`).\n');
} else {
  // The helpers run the image's bundle (test/support/rolling-deploy.ts), built from the sources as they are.
  execFileSync(process.execPath, ['scripts/build.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    stdio: ['ignore', 2, 2],
  });
  const load = loadavg()[0]!.toFixed(1);
  const started = Date.now();
  log(`deploy bench: ${RUNS} runs × ${cases.length} cases, ${availableParallelism()} CPUs, load ${load}`);
  const moto = await startMoto();
  try {
    // Interleaved, so a slow moment of the machine does not land on one case only.
    for (let run = 1; run <= RUNS; run += 1) {
      for (const c of cases) {
        try {
          const result = await runRollingDeploy({ moto, helperEnv: c.settings, pollMs: POLL_MS });
          const sample: Sample = {
            stopMs: result.stopped.map((s) => s.stopMs),
            failMs: result.stopped.map((s) => (s.failAt ?? Number.NaN) - result.sigtermAt),
            calls: result.stopped.map((s) => s.awsCalls.length),
            failures: result.failures.length,
            apis: result.stopped.flatMap((s) => s.awsCalls),
            badExits: result.stopped
              .filter((s) => s.exit.code !== 0)
              .map(
                (s) =>
                  `${s.name} exit ${s.exit.code ?? s.exit.signal}: ${s.helper.lines.find((l) => l.level !== 'info')?.msg ?? '(no warning)'}`,
              ),
          };
          samples.get(c)!.push(sample);
          log(
            `run ${run} ${c.name}: exits ${sample.stopMs.join(', ')} ms, fail ${sample.failMs.join(', ')} ms, ${sample.failures} failed, AWS calls ${result.stopped.map((s) => s.awsCalls.join(' ')).join(' | ')}${sample.badExits.map((b) => `; ${b}`).join('')}`,
          );
        } catch (error) {
          const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
          errors.get(c)!.push(message);
          log(`run ${run} ${c.name}: ERROR ${message}`);
        }
      }
    }
  } finally {
    await moto.close();
  }

  const secs = (ms: number) => (ms / 1000).toFixed(2);
  const settings = (c: Case) =>
    Object.entries(c.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  /** The calls by API, from every run of a case, per stopped task. */
  const byApi = (got: Sample[]) => {
    const counts = new Map<string, number>();
    for (const api of got.flatMap((g) => g.apis)) counts.set(api, (counts.get(api) ?? 0) + 1);
    const tasks = got.reduce((n, g) => n + g.calls.length, 0);
    return [...counts].map(([api, n]) => `${api} ${(n / tasks).toFixed(1)}`).join(', ') || 'none';
  };
  const out = [
    `Rolling deploy behind a caller's real ${envoyVersion().split('/')[1]} (file-based EDS from a control plane polling Cloud Map in moto every ${POLL_MS / 1000} s, HEALTHY instances; active health checks every ${edsCallerHealthCheck.intervalMs} ms, unhealthy after ${edsCallerHealthCheck.unhealthyThreshold}), median (min–max) of ${RUNS} runs, ${cpus()[0]?.model ?? ''}, load average ${load} at the start.`,
    'Two old tasks (toy app, Envoy 1.40 on examples/envoy/envoy.yaml, the helper as the image bundles it) of a service with desired count 2; a new PRIMARY deployment; right after a poll its two tasks register in Cloud Map and both old tasks get SIGTERM; each old task stops its Envoy and app when its helper exits.',
    `The fixed delay is the default 40 s scaled down ×${SCALE} (${FIXED_S} s); the other times are not scaled. DISCOVERY_PROPAGATION=${PROPAGATION_S}: the ${POLL_MS / 1000} s poll, the EDS reload and the first health check, with a margin.`,
    `Stop time and fail: per old task (2 per run), SIGTERM to helper exit and to /healthcheck/fail. AWS calls: per old task, made by its helper from SIGTERM to exit (counted at a proxy in front of moto; the helper runs the cloud-map plugin, CLOUD_MAP_SERVICE_ID set). Load: ${defaultLoad.concurrency} keep-alive loops through the caller, no retries.`,
    '',
    '| case | settings | SIGTERM → exit (s) | SIGTERM → fail (s) | failed requests | AWS calls per stopped task | of which | helper exits ≠ 0 | errored runs |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of cases) {
    const got = samples.get(c)!;
    out.push(
      `| ${c.name} | ${settings(c)} | ${spread(
        got.flatMap((g) => g.stopMs),
        secs,
      )} | ${spread(
        got.flatMap((g) => g.failMs),
        secs,
      )} | ${spread(
        got.map((g) => g.failures),
        String,
      )} | ${spread(
        got.flatMap((g) => g.calls),
        String,
      )} | ${byApi(got)} | ${got.reduce((n, g) => n + g.badExits.length, 0)} | ${errors.get(c)!.length} |`,
    );
  }
  const fixed = samples.get(cases[1]!)!.flatMap((g) => g.stopMs);
  const until = samples.get(cases[2]!)!.flatMap((g) => g.stopMs);
  if (fixed.length > 0 && until.length > 0)
    out.push(
      '',
      `DRAIN_DELAY_UNTIL=replacements against the fixed delay: ${secs(median(fixed) - median(until))} s sooner per old task (median of the exits).`,
    );
  out.push(`(${RUNS * cases.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}
