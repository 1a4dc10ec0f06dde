import { afterEach, describe, expect, it } from 'vitest';
import {
  describeScenario,
  runDrainScenario,
  type DrainScenarioOptions,
  type DrainScenarioResult,
} from '../support/drain-scenario.ts';
import { envoyRelease } from '../support/envoy-binary.ts';
import { closeAllHaproxies, defaultHealthCheck, detectionLimitMs, haproxyMissing } from '../support/haproxy.ts';
import { closeAllEnvoys, realEnvoyMissing } from '../support/real-envoy.ts';
import { startTask, type RealTask } from '../support/task.ts';

// The same scenario as drain-under-load.test.ts, on real Envoy 1.40 running exactly
// examples/envoy/envoy.yaml (ports substituted) with the example Dockerfile's flags: two tasks
// behind a real HAProxy health-checking Envoy's ingress listener on /ping/ping every 500 ms,
// DOWN after 2 failures, steady keep-alive load, SIGTERM to task A's helper; task A's Envoy and
// app stop as soon as the helper exits.
const missing = realEnvoyMissing() ?? haproxyMissing();
if (missing) console.warn(`skipping the real-Envoy end-to-end tests: ${missing}`);

const DETECTION_MS = detectionLimitMs(defaultHealthCheck);
const seconds = (ms: number) => String(ms / 1000);
const FIXED = { DRAIN_DELAY: '0.5', DRAIN_TIMEOUT: seconds(2 * DETECTION_MS) };

afterEach(async () => {
  await closeAllHaproxies();
  await closeAllEnvoys();
});

/** The scenario on real tasks; `tasks[0]` is task A. */
async function onRealEnvoy(
  options: DrainScenarioOptions,
  envoyArgs: string[] = [],
): Promise<{ result: DrainScenarioResult; why: string; tasks: RealTask[] }> {
  const tasks: RealTask[] = [];
  const startRealTask = async () => {
    const task = await startTask({ envoy: 'example', envoyArgs });
    tasks.push(task);
    return task;
  };
  const result = await runDrainScenario({ ...options, startTask: startRealTask });
  const envoyLines = tasks[0]!.envoy.lines
    .filter((l) => /warn|error|critical/.test(l.text))
    .map((l) => `envoy A: ${l.text}`);
  return { result, why: [describeScenario(result), ...envoyLines].join('\n'), tasks };
}

/** What every drain must show: no failed request, exit 0, HAProxy saw task A DOWN before the helper exited. */
function expectCleanDrain({ result, why }: { result: DrainScenarioResult; why: string }): void {
  expect(result.failures, why).toHaveLength(0);
  expect(result.exit?.code, why).toBe(0);
  expect(result.healthcheckFailAt, why).toBeDefined();
  expect(result.downAt, why).toBeLessThan(result.exit!.at);
  // Callers were still routed to task A after /healthcheck/fail, and Envoy served them.
  expect(result.load.lastOkSentAt.a, why).toBeGreaterThan(result.healthcheckFailAt!);
}

describe.skipIf(missing)(
  `a task draining on real Envoy ${envoyRelease()} (examples/envoy) behind HAProxy under steady load`,
  () => {
    it('no helper, task A stopped abruptly: requests fail (the comparison the drain is measured against)', async () => {
      const { result, why } = await onRealEnvoy({});
      expect(result.healthcheckFailAt, why).toBeUndefined();
      expect(result.failures.length, why).toBeGreaterThan(0);
    });

    it('fixed drain: 0 failed requests, HAProxy marks the task DOWN within inter × fall of /healthcheck/fail', async () => {
      const run = await onRealEnvoy({ helperEnv: FIXED });
      expectCleanDrain(run);
      const { result, why } = run;
      expect(result.healthcheckFailAt! - result.sigtermAt, why).toBeGreaterThanOrEqual(500);
      expect(result.downAt - result.healthcheckFailAt!, why).toBeLessThanOrEqual(DETECTION_MS + 500);
    });

    it('traffic-aware drain (DRAIN_MIN): 0 failed requests, and the helper exits long before DRAIN_TIMEOUT', async () => {
      const drainMinMs = DETECTION_MS + 500;
      const run = await onRealEnvoy({
        helperEnv: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '20', DRAIN_MIN: seconds(drainMinMs) },
      });
      expectCleanDrain(run);
      const { result, why } = run;
      const ended = result.helper!.lines.find((l) => l.msg === 'drainTimeout ended');
      expect(ended, why).toMatchObject({ reason: 'traffic stopped' });
      expect(ended?.ms as number, why).toBeGreaterThanOrEqual(drainMinMs);
      // DRAIN_MIN, the 1 s quiet period and a few stats polls: far from DRAIN_TIMEOUT's 20 s.
      expect(result.stopMs, why).toBeLessThan(drainMinMs + 3_000);
    });

    it('a 1.5 s request in flight at /healthcheck/fail completes with 200 before the helper exits', async () => {
      const run = await onRealEnvoy({ helperEnv: FIXED, slowMs: [1_500] });
      expectCleanDrain(run);
      const { result, why } = run;
      expect(
        result.slow.map((o) => [o.kind, o.kind === 'ok' ? o.servedBy : undefined]),
        why,
      ).toEqual([['ok', 'a']]);
      expect(result.slow[0]!.startedAt, why).toBeLessThan(result.healthcheckFailAt!);
      expect(result.slow[0]!.at, why).toBeGreaterThan(result.healthcheckFailAt!);
      expect(result.slow[0]!.at, why).toBeLessThan(result.exit!.at);
    });

    // Envoy's --drain-time-s 0 here is shorter than HAProxy needs to notice: without skip_exit,
    // Envoy closes its listeners at once and refuses the connections HAProxy still opens (about 200
    // failed requests per run when the plugin sent plain `graceful`).
    for (const mode of ['inbound', 'all']) {
      it(`ENVOY_DRAIN_LISTENERS=${mode} with Envoy's --drain-time-s shorter than the health checks: 0 failed requests`, async () => {
        const run = await onRealEnvoy({ helperEnv: { ...FIXED, ENVOY_DRAIN_LISTENERS: mode } }, [
          '--drain-time-s',
          '0',
        ]);
        expectCleanDrain(run);
        const { result, why } = run;
        // The version comes from this Envoy's own /server_info, read at start.
        expect(
          result.helper!.lines.find((l) => l.msg === 'envoy version read'),
          why,
        ).toMatchObject({ hook: 'onStart', envoyVersion: expect.stringContaining(`/${envoyRelease()}/`) });
        expect(
          result.helper!.lines.find((l) => l.msg === 'envoy listeners draining'),
          why,
        ).toMatchObject({
          inboundOnly: mode === 'inbound',
          path: `/drain_listeners?graceful&skip_exit${mode === 'inbound' ? '&inboundonly' : ''}`,
        });
      });
    }

    it('ENVOY_QUIT=true: Envoy exits by itself (code 0) once the helper is done, 0 failed requests', async () => {
      const run = await onRealEnvoy({ helperEnv: { ...FIXED, ENVOY_QUIT: 'true' } });
      expectCleanDrain(run);
      const { result, why, tasks } = run;
      const envoy = tasks[0]!.envoy;
      expect(await envoy.exited, why).toMatchObject({ code: 0, signal: null });
      // Envoy began its own shutdown on /quitquitquit, not on the SIGTERM that stopping the task sends.
      const shutdown = envoy.lines.findIndex((l) => /shutting down server instance/.test(l.text));
      const sigterm = envoy.lines.findIndex((l) => /caught ENVOY_SIGTERM/.test(l.text));
      expect(shutdown, why).toBeGreaterThanOrEqual(0);
      expect(
        sigterm === -1 || shutdown < sigterm,
        `${why}: shutdown at line ${shutdown}, SIGTERM at line ${sigterm}`,
      ).toBe(true);
      expect(
        result.helper!.lines.find((l) => l.msg === 'envoy told to quit'),
        why,
      ).toMatchObject({ hook: 'afterDrain' });
    });
  },
);
