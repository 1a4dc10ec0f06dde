import { startEnvoySim, startToyApp, type StatSet } from '@task-helper/envoy-sim';
import { defaultHealthCheck, startHaproxy, type Haproxy } from './haproxy.ts';
import { startHelper, type HelperProcess } from './helper-process.ts';
import { startLoad, summarizeLoad, type Failure, type Load, type LoadStats } from './load.ts';
import { startRealEnvoy } from './real-envoy.ts';

/**
 * The traffic-aware drain behind a real HAProxy that health-checks every task every 500 ms
 * through the whole drain: two tasks (toy app + Envoy each, real Envoy 1.40 or the simulator with
 * either stat set), steady keep-alive load, SIGTERM to task A's helper; once it exits, task A's
 * Envoy and app stop, as ECS stops them. Health checks keep arriving at task A after
 * /healthcheck/fail (answered 503), so a drain that counted them as callers would never end early.
 */

export type EnvoyKind = { real: true; statPrefix?: string } | { real: false; statSet: StatSet };

interface Task {
  listenerUrl: string;
  adminUrl: string;
  statPrefix: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

async function startTask(kind: EnvoyKind): Promise<Task> {
  const app = await startToyApp();
  try {
    if (kind.real) {
      const envoy = await startRealEnvoy({ upstreamPort: app.port, statPrefix: kind.statPrefix });
      return {
        ...envoy,
        env: { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port) },
        close: async () => (await envoy.close(), await app.close()),
      };
    }
    const sim = await startEnvoySim({ upstream: app.url, statSet: kind.statSet });
    return {
      ...sim,
      statPrefix: 'ingress',
      env: { ENVOY_ADMIN_URL: sim.adminUrl, PORT: String(app.port) },
      close: async () => (await sim.close(), await app.close()),
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

async function healthChecksSeen(task: Task): Promise<number> {
  const name = `http.${task.statPrefix}.tracing.health_check`;
  const filter = encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`);
  const { stats } = (await (await fetch(`${task.adminUrl}/stats?format=json&filter=${filter}`)).json()) as {
    stats: Array<{ name: string; value: number }>;
  };
  return stats.find((s) => s.name === name)?.value ?? Number.NaN;
}

export interface TrafficDrainResult {
  exit: { code: number | null; at: number };
  /** SIGTERM to helper exit. */
  stopMs: number;
  /** When the helper logged that /healthcheck/fail was answered, to helper exit. */
  stopAfterFailMs: number;
  /** How plugin-delay's DRAIN_TIMEOUT wait ended: 'traffic stopped' or 'timeout'. */
  endedBy: unknown;
  /** Health checks task A's Envoy counted between SIGTERM and the helper's exit. */
  healthChecksDuringDrain: number;
  failures: Failure[];
  load: LoadStats;
  helper: HelperProcess;
  /** For assertion messages. */
  describe(): string;
}

export async function runTrafficDrain(kind: EnvoyKind, helperEnv: Record<string, string>): Promise<TrafficDrainResult> {
  let taskA: Task | undefined;
  let taskB: Task | undefined;
  let haproxy: Haproxy | undefined;
  let load: Load | undefined;
  let helper: HelperProcess | undefined;
  try {
    taskA = await startTask(kind);
    taskB = await startTask(kind);
    haproxy = await startHaproxy({
      servers: [
        { name: 'a', url: taskA.listenerUrl },
        { name: 'b', url: taskB.listenerUrl },
      ],
      healthCheck: defaultHealthCheck,
    });
    helper = startHelper(['run'], {
      env: { ...taskA.env, ...(kind.real ? { ENVOY_STAT_PREFIXES: taskA.statPrefix } : {}), ...helperEnv },
    });
    await helper.waitForLog('ready');
    load = startLoad(haproxy.url);
    await load.waitFor((s) => (s.okByServer.a ?? 0) >= 20 && (s.okByServer.b ?? 0) >= 20, 5_000, 'both tasks serving');

    const checksBefore = await healthChecksSeen(taskA);
    const sigtermAt = helper.kill('SIGTERM');
    const exit = await Promise.race([
      helper.exited,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`helper still running 30 s after SIGTERM:\n${helper!.stdout()}`)),
          30_000,
        ).unref(),
      ),
    ]);
    const healthChecksDuringDrain = (await healthChecksSeen(taskA)) - checksBefore;
    await taskA.close();
    await haproxy.waitForLine(/Server tasks\/a is DOWN/, 5_000);
    const completedAtDown = load.stats.completed;
    await load.waitFor((s) => s.completed >= completedAtDown + 200, 10_000, '200 requests after task A went DOWN');
    const stats = await load.stop();
    load = undefined;

    const failed = helper.lines.find((l) => l.msg === 'envoy health check failed: callers will stop routing here');
    const ended = helper.lines.find((l) => l.msg === 'drainTimeout ended');
    const lines = helper.lines;
    const haproxyLines = haproxy.lines;
    return {
      exit,
      stopMs: exit.at - sigtermAt,
      stopAfterFailMs: failed ? exit.at - failed.at : Number.NaN,
      endedBy: ended?.reason,
      healthChecksDuringDrain,
      failures: stats.failures,
      load: stats,
      helper,
      describe: () =>
        [
          `load: ${summarizeLoad(stats)}`,
          ...stats.failures.slice(0, 20).map((f) => `failure: ${JSON.stringify(f)}`),
          ...lines.map((l) => `helper: ${JSON.stringify(l)}`),
          ...haproxyLines.map((l) => `haproxy: ${l.text}`),
        ].join('\n'),
    };
  } finally {
    if (helper && helper.child.exitCode === null && helper.child.signalCode === null) helper.kill('SIGKILL');
    await load?.stop();
    await haproxy?.close();
    await taskA?.close();
    await taskB?.close();
  }
}
