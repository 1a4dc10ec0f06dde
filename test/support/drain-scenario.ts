import { startHelper, type HelperProcess } from './helper-process.ts';
import { defaultHealthCheck, startHaproxy, type Haproxy, type HaproxyLine, type HealthCheckTiming } from './haproxy.ts';
import {
  startLoad,
  summarizeLoad,
  type Failure,
  type Load,
  type LoadOptions,
  type LoadStats,
  type Outcome,
} from './load.ts';
import { startTask, type Task } from './task.ts';

/**
 * One task stopping behind a real load balancer, as ECS stops it: two tasks (toy app + Envoy,
 * real or simulated, each) behind HAProxy with active health checks, steady keep-alive load through
 * HAProxy, SIGTERM to task A's helper, and as soon as the helper exits, task A's Envoy and app
 * stop (they `dependsOn`-wait for the helper). The load keeps going until HAProxy has marked A
 * DOWN and `tailRequests` more requests completed, then every failed request is reported.
 */

export interface DrainScenarioOptions {
  /** The helper's settings (DRAIN_DELAY, DRAIN_TIMEOUT, …) besides task A's addresses; undefined: no helper, task A is stopped abruptly. */
  helperEnv?: Record<string, string>;
  /** `GET /slow?ms=N` requests pinned to task A, sent just before SIGTERM. */
  slowMs?: number[];
  load?: LoadOptions;
  healthCheck?: HealthCheckTiming;
  /** Requests that must complete after task A stopped and HAProxy marked it DOWN, before the load stops. */
  tailRequests?: number;
  /** Successful requests each task must have served before SIGTERM (the load really is spread). */
  warmupPerTask?: number;
  /** Longest the helper may take to exit before it is killed (the scenario then fails). */
  maxStopMs?: number;
  /** Starts one task (app + Envoy); default: on the Envoy simulator. */
  startTask?: () => Promise<Task>;
  /** Count the health checks task A's Envoy sees during the drain (healthChecksDuringDrain). */
  countHealthChecks?: boolean;
}

export interface DrainScenarioResult {
  sigtermAt: number;
  /** SIGTERM to helper exit; 0 without a helper. */
  stopMs: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  helper?: HelperProcess;
  /** When task A's Envoy answered `/healthcheck/fail` (else when the helper logged it; undefined if never called). */
  healthcheckFailAt?: number;
  /** Health checks task A's Envoy counted between SIGTERM and the helper's exit, with `countHealthChecks`. */
  healthChecksDuringDrain?: number;
  /** When HAProxy logged task A DOWN. */
  downAt: number;
  /** When task A's Envoy and app were stopped. */
  taskStoppedAt: number;
  load: LoadStats;
  /** Every request that did not get a 200, slow ones included. */
  failures: Failure[];
  slow: Outcome[];
  haproxyLines: HaproxyLine[];
  haproxyConfig: string;
}

const defaultScenario = Object.freeze({ tailRequests: 200, warmupPerTask: 20, maxStopMs: 30_000 });

export async function runDrainScenario(options: DrainScenarioOptions = {}): Promise<DrainScenarioResult> {
  const { tailRequests, warmupPerTask, maxStopMs } = { ...defaultScenario, ...options };
  const healthCheck = options.healthCheck ?? defaultHealthCheck;
  const downWithinMs = healthCheck.interMs * healthCheck.fall + 5_000;
  const start = options.startTask ?? (() => startTask());
  let taskA: Task | undefined;
  let taskB: Task | undefined;
  let haproxy: Haproxy | undefined;
  let helper: HelperProcess | undefined;
  let load: Load | undefined;
  try {
    taskA = await start();
    taskB = await start();
    haproxy = await startHaproxy({
      servers: [
        { name: 'a', url: taskA.listenerUrl },
        { name: 'b', url: taskB.listenerUrl },
      ],
      healthCheck,
    });
    if (options.helperEnv) {
      helper = startHelper(['run'], { env: { ...taskA.env, ...options.helperEnv } });
      await helper.waitForLog('ready');
    }

    load = startLoad(haproxy.url, options.load);
    await load.waitFor(
      (s) => (s.okByServer.a ?? 0) >= warmupPerTask && (s.okByServer.b ?? 0) >= warmupPerTask,
      5_000,
      'both tasks serving',
    );
    const slow = Promise.all((options.slowMs ?? []).map((ms) => load!.slow(ms, 'a')));

    const checksBefore = helper && options.countHealthChecks ? await taskA.healthChecksSeen() : undefined;
    const sigtermAt = helper ? helper.kill('SIGTERM') : Date.now();
    let exit: DrainScenarioResult['exit'];
    if (helper) {
      let timer: NodeJS.Timeout | undefined;
      const tooLong = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `helper still running ${maxStopMs} ms after SIGTERM:\n${helper!.lines.map((l) => JSON.stringify(l)).join('\n')}`,
              ),
            ),
          maxStopMs,
        );
      });
      try {
        exit = await Promise.race([helper.exited, tooLong]);
      } finally {
        clearTimeout(timer);
      }
    }
    const checksAfter = checksBefore === undefined ? undefined : await taskA.healthChecksSeen();
    // ECS stops the containers the helper dependsOn as soon as it exits. A real Envoy the helper
    // told to quit (ENVOY_QUIT) is stopping already: it gets up to 2 s to exit by itself first, as a
    // SIGTERM that lands mid-shutdown kills it by the signal instead.
    if ('exited' in taskA.envoy && helper?.lines.some((l) => l.msg === 'envoy told to quit')) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([taskA.envoy.exited, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
    }
    await taskA.close();
    const taskStoppedAt = Date.now();

    const down = await haproxy.waitForLine(/Server tasks\/a is DOWN/, downWithinMs);
    const completedAtDown = load.stats.completed;
    await load.waitFor(
      (s) => s.completed >= completedAtDown + tailRequests,
      10_000,
      `${tailRequests} requests after task A went DOWN`,
    );
    const [slowOutcomes, stats] = await Promise.all([slow, load.stop()]);
    load = undefined;
    const healthcheckFailAt =
      taskA.healthcheckFailAt() ?? helper?.lines.find((l) => l.msg.startsWith('envoy health check failed'))?.at;

    return {
      sigtermAt,
      stopMs: exit ? exit.at - sigtermAt : 0,
      ...(exit ? { exit } : {}),
      ...(helper ? { helper } : {}),
      ...(healthcheckFailAt === undefined ? {} : { healthcheckFailAt }),
      ...(checksBefore === undefined || checksAfter === undefined
        ? {}
        : { healthChecksDuringDrain: checksAfter - checksBefore }),
      downAt: down.at,
      taskStoppedAt,
      load: stats,
      failures: stats.failures,
      slow: slowOutcomes,
      haproxyLines: haproxy.lines,
      haproxyConfig: haproxy.configText,
    };
  } finally {
    if (helper && helper.child.exitCode === null && helper.child.signalCode === null) helper.kill('SIGKILL');
    await load?.stop();
    await haproxy?.close();
    await taskA?.close();
    await taskB?.close();
  }
}

/** A multi-line account of a scenario, for assertion messages: the load, each failure, the helper's and HAProxy's lines. */
export function describeScenario(result: DrainScenarioResult): string {
  const t = (at: number) => `+${at - result.sigtermAt} ms`;
  const lines = [
    `load: ${summarizeLoad(result.load)}`,
    `SIGTERM at +0 ms; /healthcheck/fail ${result.healthcheckFailAt === undefined ? 'never' : t(result.healthcheckFailAt)}; helper exit ${result.exit ? `${t(result.exit.at)} (code ${result.exit.code})` : 'n/a'}; task A stopped ${t(result.taskStoppedAt)}; HAProxy marked A DOWN ${t(result.downAt)}`,
    ...result.failures
      .slice(0, 20)
      .map((f) => `failure: ${JSON.stringify({ ...f, startedAt: t(f.startedAt), at: t(f.at) })}`),
    ...(result.helper?.lines ?? []).map((l) => `helper: ${JSON.stringify({ ...l, at: t(l.at) })}`),
    ...result.haproxyLines.map((l) => `haproxy ${t(l.at)}: ${l.text}`),
  ];
  return lines.join('\n');
}
