import type { StatSet } from '@task-helper/envoy-sim';
import { runDrainScenario } from './drain-scenario.ts';
import type { HelperProcess } from './helper-process.ts';
import { summarizeLoad, type Failure, type LoadStats } from './load.ts';
import { startTask } from './task.ts';

/**
 * The traffic-aware drain behind a real HAProxy that health-checks every task every 500 ms
 * through the whole drain: two tasks (toy app + Envoy each, real Envoy 1.40 or the simulator with
 * either stat set), steady keep-alive load, SIGTERM to task A's helper; once it exits, task A's
 * Envoy and app stop, as ECS stops them. Health checks keep arriving at task A after
 * /healthcheck/fail (answered 503), so a drain that counted them as callers would never end early.
 */

export type EnvoyKind = { real: true; statPrefix?: string } | { real: false; statSet: StatSet };

export interface TrafficDrainResult {
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number };
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
  const result = await runDrainScenario({
    // Real Envoy's ingress is named in ENVOY_STAT_PREFIXES (a dotted prefix must be).
    startTask: () =>
      kind.real
        ? startTask({ envoy: 'bare', statPrefix: kind.statPrefix ?? 'ingress' })
        : startTask({ statSet: kind.statSet }),
    helperEnv,
    countHealthChecks: true,
  });
  const { exit, helper, load, haproxyLines } = result;
  if (!exit || !helper || result.healthChecksDuringDrain === undefined) {
    throw new Error('the drain scenario ran without a helper or without counting health checks');
  }
  const failed = helper.lines.find((l) => l.msg === 'envoy health check failed: callers will stop routing here');
  const ended = helper.lines.find((l) => l.msg === 'drainTimeout ended');
  return {
    exit,
    stopMs: result.stopMs,
    stopAfterFailMs: failed ? exit.at - failed.at : Number.NaN,
    endedBy: ended?.reason,
    healthChecksDuringDrain: result.healthChecksDuringDrain,
    failures: result.failures,
    load,
    helper,
    describe: () =>
      [
        `load: ${summarizeLoad(load)}`,
        ...result.failures.slice(0, 20).map((f) => `failure: ${JSON.stringify(f)}`),
        ...helper.lines.map((l) => `helper: ${JSON.stringify(l)}`),
        ...haproxyLines.map((l) => `haproxy: ${l.text}`),
      ].join('\n'),
  };
}
