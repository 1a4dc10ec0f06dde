import { callerHealthCheck, startCallerEnvoy, type CallerEnvoy } from './caller-envoy.ts';
import type { LogLine } from '@task-helper/core/testing';
import { startHelper, type HelperProcess } from './helper-process.ts';
import {
  startLoad,
  summarizeLoad,
  type Failure,
  type Load,
  type LoadOptions,
  type LoadStats,
  type Outcome,
} from './load.ts';
import { startTask, type RealTask } from './task.ts';

/**
 * The traffic-aware end seen from real callers: two tasks (toy app + real Envoy 1.40 each), one
 * calling service's own Envoy in front of them (active health checks, or outlier detection only:
 * caller-envoy.ts), a client sending through it, SIGTERM to task A's helper; once the helper exits,
 * task A's Envoy and app stop, as ECS stops them. The traffic during DRAIN_DELAY is what the
 * helper measures the callers' pace from, so the load runs from before the signal.
 */

/** Active health checks (the caller honours the fail at once), or outlier detection only (it never does). */
type CallerChecks = 'active' | 'outlier-only';

export interface CallerDrainOptions {
  checks: CallerChecks;
  /** The helper's settings besides task A's addresses. */
  helperEnv: Record<string, string>;
  load: LoadOptions;
  /** A `GET /slow?ms=N` pinned to task A, sent just before SIGTERM: in flight across the fail. */
  slowMs?: number;
  /** Requests each task must have answered before SIGTERM. */
  warmupPerTask?: number;
  /** Longest the helper may take to exit before the run fails. */
  maxStopMs?: number;
}

export interface CallerDrainResult {
  sigtermAt: number;
  /** When the helper logged that /healthcheck/fail was answered. */
  failAt: number;
  exitAt: number;
  exitCode: number | null;
  /** How plugin-delay's DRAIN_TIMEOUT wait ended: 'traffic stopped' or 'timeout'. */
  endedBy: unknown;
  /** The helper's `traffic stopped` line, if any. */
  trafficStopped: (LogLine & { at: number }) | undefined;
  /** The helper's `quiet period set` line: the quiet period it chose from the callers' pace. */
  quietPeriod: (LogLine & { at: number }) | undefined;
  /** When the last request task A answered came back to the client (the slow one included). */
  lastServedByA: number;
  slow: Outcome | undefined;
  failures: Failure[];
  load: LoadStats;
  helper: HelperProcess;
  describe(): string;
}

const defaults = Object.freeze({ warmupPerTask: 3, maxStopMs: 30_000 });

export async function runCallerDrain(options: CallerDrainOptions): Promise<CallerDrainResult> {
  const { warmupPerTask, maxStopMs } = { ...defaults, ...options };
  let taskA: RealTask | undefined;
  let taskB: RealTask | undefined;
  let caller: CallerEnvoy | undefined;
  let helper: HelperProcess | undefined;
  let load: Load | undefined;
  try {
    taskA = await startTask({ envoy: 'bare' });
    taskB = await startTask({ envoy: 'bare' });
    caller = await startCallerEnvoy({
      upstreams: { a: taskA.listenerUrl, b: taskB.listenerUrl },
      ...(options.checks === 'active' ? { healthCheck: callerHealthCheck } : {}),
    });
    // The caller's x-served-by: the task's listener address.
    const a = new URL(taskA.listenerUrl).host;
    const b = new URL(taskB.listenerUrl).host;
    helper = startHelper(['run'], { env: { ...taskA.env, ...options.helperEnv } });
    await helper.waitForLog('ready');

    load = startLoad(caller.url, options.load);
    await load.waitFor(
      (s) => (s.okByServer[a] ?? 0) >= warmupPerTask && (s.okByServer[b] ?? 0) >= warmupPerTask,
      15_000,
      'both tasks serving through the caller Envoy',
    );
    const slow = options.slowMs === undefined ? undefined : load.slow(options.slowMs, 'a');
    const sigtermAt = helper.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const tooLong = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`helper still running ${maxStopMs} ms after SIGTERM`)), maxStopMs);
    });
    const exit = await Promise.race([helper.exited, tooLong]).finally(() => clearTimeout(timer));
    await taskA.close();
    taskA = undefined;
    // A few more requests after task A stopped, so a caller still routing there shows it.
    const completedAtStop = load.stats.completed;
    await load.waitFor((s) => s.completed >= completedAtStop + 5, 10_000, '5 requests after task A stopped');
    const slowOutcome = await slow;
    const stats = await load.stop();
    load = undefined;

    const failed = helper.lines.find((l) => l.msg === 'envoy health check failed: callers will stop routing here');
    if (!failed) throw new Error('the helper never logged /healthcheck/fail');
    const lines = helper.lines;
    const lastServedByA = Math.max(stats.lastOkAt[a] ?? 0, slowOutcome?.kind === 'ok' ? slowOutcome.at : 0);
    const t = (at: number) => `+${at - sigtermAt} ms`;
    return {
      sigtermAt,
      failAt: failed.at,
      exitAt: exit.at,
      exitCode: exit.code,
      endedBy: lines.find((l) => l.msg === 'drainTimeout ended')?.reason,
      trafficStopped: lines.find((l) => l.msg === 'traffic stopped'),
      quietPeriod: lines.find((l) => l.msg === 'quiet period set'),
      lastServedByA,
      slow: slowOutcome,
      failures: stats.failures,
      load: stats,
      helper,
      describe: () =>
        [
          `load: ${summarizeLoad(stats)}; task A = ${a}, task B = ${b}`,
          `SIGTERM +0 ms; /healthcheck/fail ${t(failed.at)}; last answer from A ${t(lastServedByA)}; helper exit ${t(exit.at)}`,
          ...stats.failures.slice(0, 20).map((f) => `failure: ${JSON.stringify({ ...f, at: t(f.at) })}`),
          ...lines.map((l) => `helper: ${JSON.stringify({ ...l, at: t(l.at) })}`),
        ].join('\n'),
    };
  } finally {
    if (helper && helper.child.exitCode === null && helper.child.signalCode === null) helper.kill('SIGKILL');
    await load?.stop();
    await caller?.envoy.close();
    await taskA?.close();
    await taskB?.close();
  }
}
