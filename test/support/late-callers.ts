import { callerHealthCheck, startCallerEnvoy, type CallerEnvoy, type CallerEnvoyOptions } from './caller-envoy.ts';
import { startHaproxy, type Haproxy } from './haproxy.ts';
import { startHelper, type HelperProcess } from './helper-process.ts';
import { startLoad, summarizeLoad, type Failure, type Load, type LoadStats } from './load.ts';
import { startTask, type RealTask } from './task.ts';

/**
 * One task stopping as ECS stops it, seen by one kind of caller: two tasks (toy app behind the
 * example sidecar, real Envoy running examples/envoy/envoy.yaml), steady keep-alive load through
 * the caller (a real HAProxy or the caller's own real Envoy), SIGTERM to task A's helper, and once
 * it exits, task A's app stops first and its Envoy only once `holdRequests` more requests have
 * completed (ECS stops the app, which `dependsOn` Envoy, then Envoy), then `tailRequests` more.
 * Every request the client did not get a 200 for is counted, with when it failed.
 */

export type CallerKind =
  /** HAProxy health-checking every 500 ms (fall 2), as the other drain tests' load balancer. */
  | { kind: 'haproxy' }
  /** The caller's own Envoy: outlier detection always; active health checks, a retry policy and its circuit breaker as asked. */
  | { kind: 'envoy'; activeHealthCheck: boolean; retryOn?: CallerEnvoyOptions['retryOn']; maxRetries?: number };

export interface LateCallersOptions {
  caller: CallerKind;
  /** The helper's settings besides task A's addresses (DRAIN_DELAY, DRAIN_TIMEOUT, ENVOY_CLOSE_INBOUND…). */
  helperEnv: Record<string, string>;
  /** Requests that complete between the app's stop and its Envoy's: the window in which a caller still sending gets a 503. */
  holdRequests?: number;
  tailRequests?: number;
}

export interface LateCallersResult {
  failures: Failure[];
  /** Failures by when they happened: before the helper exited, while only the app had stopped, after Envoy had too. */
  failed: { duringDrain: number; appStopped: number; envoyStopped: number };
  load: LoadStats;
  helper: HelperProcess;
  exit: { code: number | null; at: number };
  /** The caller Envoy's counters at the end (undefined behind HAProxy). */
  caller?: { retries: number; retryOverflows: number; connectFailures: number; ejections: number };
  describe(): string;
}

/** The caller Envoy's health checks (the same timing as HAProxy's): A is marked failed within 1 s of /healthcheck/fail, at once on its next response. */

export async function runLateCallers({
  caller,
  helperEnv,
  holdRequests = 300,
  tailRequests = 200,
}: LateCallersOptions): Promise<LateCallersResult> {
  let taskA: RealTask | undefined;
  let taskB: RealTask | undefined;
  let haproxy: Haproxy | undefined;
  let callerEnvoy: CallerEnvoy | undefined;
  let helper: HelperProcess | undefined;
  let load: Load | undefined;
  try {
    [taskA, taskB] = await Promise.all([startTask({ envoy: 'example' }), startTask({ envoy: 'example' })]);
    const names = { [new URL(taskA.listenerUrl).host]: 'a', [new URL(taskB.listenerUrl).host]: 'b' };
    let url: string;
    if (caller.kind === 'haproxy') {
      haproxy = await startHaproxy({
        servers: [
          { name: 'a', url: taskA.listenerUrl },
          { name: 'b', url: taskB.listenerUrl },
        ],
      });
      url = haproxy.url;
    } else {
      callerEnvoy = await startCallerEnvoy({
        upstreams: { a: taskA.listenerUrl, b: taskB.listenerUrl },
        ...(caller.activeHealthCheck ? { healthCheck: callerHealthCheck } : {}),
        ...(caller.retryOn === undefined ? {} : { retryOn: caller.retryOn }),
        ...(caller.maxRetries === undefined ? {} : { maxRetries: caller.maxRetries }),
      });
      url = callerEnvoy.url;
    }
    const served = (stats: LoadStats, task: 'a' | 'b') =>
      Object.entries(stats.okByServer).reduce((sum, [by, n]) => sum + ((names[by] ?? by) === task ? n : 0), 0);

    helper = startHelper(['run'], { env: { ...taskA.env, ...helperEnv } });
    await helper.waitForLog('ready');
    load = startLoad(url);
    await load.waitFor((s) => served(s, 'a') >= 20 && served(s, 'b') >= 20, 10_000, 'both tasks serving');

    const sigtermAt = helper.kill('SIGTERM');
    const exit = await Promise.race([
      helper.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('helper still running 30 s after SIGTERM')), 30_000).unref(),
      ),
    ]);
    // As ECS: the app first (it dependsOn Envoy), then Envoy once the app has gone.
    await taskA.app.close();
    const appStoppedAt = Date.now();
    const atAppStop = load.stats.completed;
    await load.waitFor(
      (s) => s.completed >= atAppStop + holdRequests,
      15_000,
      'requests while only the app is stopped',
    );
    await taskA.envoy.close();
    const envoyStoppedAt = Date.now();
    const atEnvoyStop = load.stats.completed;
    await load.waitFor((s) => s.completed >= atEnvoyStop + tailRequests, 15_000, 'requests after task A stopped');
    const stats = await load.stop();
    load = undefined;

    const failures = stats.failures;
    const failed = {
      duringDrain: failures.filter((f) => f.at < exit.at).length,
      appStopped: failures.filter((f) => f.at >= exit.at && f.at < envoyStoppedAt).length,
      envoyStopped: failures.filter((f) => f.at >= envoyStoppedAt).length,
    };
    const counters = callerEnvoy && {
      retries: await callerEnvoy.stat('cluster.tasks.upstream_rq_retry'),
      retryOverflows: await callerEnvoy.stat('cluster.tasks.upstream_rq_retry_overflow'),
      connectFailures: await callerEnvoy.stat('cluster.tasks.upstream_cx_connect_fail'),
      ejections: await callerEnvoy.stat('cluster.tasks.outlier_detection.ejections_enforced_total'),
    };
    const t = (at: number) => `+${at - sigtermAt} ms`;
    const theHelper = helper;
    return {
      failures,
      failed,
      load: stats,
      helper: theHelper,
      exit: { code: exit.code, at: exit.at },
      ...(counters ? { caller: counters } : {}),
      describe: () =>
        [
          `load: ${summarizeLoad(stats)}`,
          `SIGTERM +0 ms; helper exit ${t(exit.at)} (code ${exit.code}); app A stopped ${t(appStoppedAt)}; Envoy A stopped ${t(envoyStoppedAt)}`,
          `failed: ${JSON.stringify(failed)}; caller: ${JSON.stringify(counters ?? 'haproxy')}`,
          ...failures
            .slice(0, 20)
            .map((f) => `failure: ${JSON.stringify({ ...f, startedAt: t(f.startedAt), at: t(f.at) })}`),
          ...theHelper.lines.map((l) => `helper: ${JSON.stringify({ ...l, at: t(l.at) })}`),
        ].join('\n'),
    };
  } finally {
    if (helper && helper.child.exitCode === null && helper.child.signalCode === null) helper.kill('SIGKILL');
    await load?.stop();
    await haproxy?.close();
    await callerEnvoy?.envoy.close();
    await taskA?.close();
    await taskB?.close();
  }
}
