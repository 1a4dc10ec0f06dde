import { afterEach, describe, expect, it } from 'vitest';
import { describeScenario, runDrainScenario, type DrainScenarioResult } from '../support/drain-scenario.ts';
import { closeAllHaproxies, defaultHealthCheck, detectionLimitMs, haproxyMissing } from '../support/haproxy.ts';

// A real HAProxy in front of two tasks, health-checking /ping/ping every 500 ms, DOWN after 2
// failed checks: callers may still be routed to a task up to inter × fall = 1 s after
// /healthcheck/fail. Steady keep-alive load through HAProxy while task A's helper drains; as soon
// as the helper exits, task A's Envoy and app stop, as ECS stops them.
const noHaproxy = haproxyMissing();
if (noHaproxy) console.warn(`skipping the drain-under-load tests: ${noHaproxy}`);
const DETECTION_MS = detectionLimitMs(defaultHealthCheck);
const seconds = (ms: number) => String(ms / 1000);

afterEach(() => closeAllHaproxies());

const helperLine = (result: DrainScenarioResult, msg: string) => result.helper?.lines.find((l) => l.msg === msg);

describe.skipIf(noHaproxy)(
  'a task draining behind HAProxy under steady load (real HAProxy, active health checks)',
  () => {
    it('fixed drain longer than the health checks need: 0 failed requests, HAProxy marks the task DOWN before the helper exits', async () => {
      const result = await runDrainScenario({
        helperEnv: { DRAIN_DELAY: '0.5', DRAIN_TIMEOUT: seconds(2.5 * DETECTION_MS) },
      });
      const why = describeScenario(result);

      expect(result.failures, why).toHaveLength(0);
      expect(result.exit?.code, why).toBe(0);
      expect(result.healthcheckFailAt! - result.sigtermAt, why).toBeGreaterThanOrEqual(500);
      expect(result.downAt - result.healthcheckFailAt!, why).toBeLessThanOrEqual(DETECTION_MS + 250);
      expect(result.downAt, why).toBeLessThan(result.exit!.at);
      // Callers were still routed to task A after /healthcheck/fail (Envoy served them, with Connection: close), and none failed.
      expect(result.load.lastOkSentAt.a, why).toBeGreaterThan(result.healthcheckFailAt!);
    });

    it('slow requests in flight at /healthcheck/fail complete with 200: 0 failed requests', async () => {
      const slowMs = [1_000, 2_000, 2_500];
      const result = await runDrainScenario({
        helperEnv: { DRAIN_DELAY: '0.5', DRAIN_TIMEOUT: seconds(2.5 * DETECTION_MS) },
        slowMs,
      });
      const why = describeScenario(result);

      expect(result.failures, why).toHaveLength(0);
      expect(
        result.slow.map((o) => [o.kind, o.kind === 'ok' ? o.servedBy : undefined]),
        why,
      ).toEqual(slowMs.map(() => ['ok', 'a']));
      for (const outcome of result.slow) {
        // Really in flight when Envoy's health check failed, and done before the helper exited.
        expect(outcome.startedAt, why).toBeLessThan(result.healthcheckFailAt!);
        expect(outcome.at, why).toBeGreaterThan(result.healthcheckFailAt!);
        expect(outcome.at, why).toBeLessThan(result.exit!.at);
      }
      expect(result.exit?.code, why).toBe(0);
    });

    it('DRAIN_TIMEOUT=0 (too short for the health checks): requests fail, so the test can see failures', async () => {
      const result = await runDrainScenario({ helperEnv: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0' } });
      const why = describeScenario(result);

      expect(result.exit?.code, why).toBe(0);
      // Task A was gone while HAProxy still routed to it.
      expect(result.downAt, why).toBeGreaterThan(result.taskStoppedAt);
      expect(result.failures.length, why).toBeGreaterThan(0);
    });

    it('no helper, task A stopped abruptly under load: requests fail', async () => {
      const result = await runDrainScenario({});
      const why = describeScenario(result);

      expect(result.healthcheckFailAt, why).toBeUndefined();
      expect(result.downAt, why).toBeGreaterThan(result.taskStoppedAt);
      expect(result.failures.length, why).toBeGreaterThan(0);
    });

    it('traffic-aware drain (DRAIN_MIN = inter × fall + margin): 0 failed requests, and the helper exits long before DRAIN_TIMEOUT', async () => {
      const drainMinMs = DETECTION_MS + 500;
      const result = await runDrainScenario({
        helperEnv: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '20', DRAIN_MIN: seconds(drainMinMs) },
      });
      const why = describeScenario(result);

      expect(result.failures, why).toHaveLength(0);
      expect(result.exit?.code, why).toBe(0);
      const ended = helperLine(result, 'drainTimeout ended');
      expect(ended, why).toMatchObject({ reason: 'traffic stopped' });
      expect(ended?.ms as number, why).toBeGreaterThanOrEqual(drainMinMs);
      // DRAIN_MIN, then the default 1 s quiet period and a few stats polls: far from DRAIN_TIMEOUT's 20 s.
      expect(result.stopMs, why).toBeLessThan(drainMinMs + 3_000);
      expect(result.downAt, why).toBeLessThan(result.exit!.at);
      expect(result.load.lastOkSentAt.a, why).toBeGreaterThan(result.healthcheckFailAt!);
    });

    it('STOP_TIMEOUT too small for DRAIN_DELAY + DRAIN_TIMEOUT: one warning at start, waits cut, summary logged, exit before STOP_TIMEOUT, 0 failed requests', async () => {
      // The shortest budget the helper accepts (minStopTimeoutMs).
      const stopTimeoutMs = 5_000;
      const result = await runDrainScenario({
        helperEnv: { DRAIN_DELAY: '0.5', DRAIN_TIMEOUT: '10', STOP_TIMEOUT: seconds(stopTimeoutMs) },
      });
      const why = describeScenario(result);
      const lines = result.helper!.lines;

      // Exactly one warning before SIGTERM, and it is the plan one, naming the three numbers.
      const signalIndex = lines.findIndex((l) => l.msg === 'stop signal received');
      const atStart = lines.slice(0, signalIndex).filter((l) => l.level === 'warn');
      expect(
        atStart.map((l) => l.msg),
        why,
      ).toEqual([expect.stringMatching(/^DRAIN_DELAY 0\.5 s \+ DRAIN_TIMEOUT 10 s \+ .*STOP_TIMEOUT 5 s/)]);
      expect(
        lines.filter((l) => l.msg.startsWith('DRAIN_DELAY')),
        why,
      ).toHaveLength(1);
      expect(lines.indexOf(atStart[0]!), why).toBeLessThan(lines.findIndex((l) => l.msg === 'ready'));

      expect(helperLine(result, 'drainDelay ended'), why).toMatchObject({ reason: 'timeout' });
      // Cut where the budget ends: STOP_TIMEOUT 5 s − 1 s afterDrain margin − DRAIN_DELAY 0.5 s = 3.5 s at most.
      expect(helperLine(result, 'drainTimeout ended'), why).toMatchObject({ reason: 'budget' });
      expect(helperLine(result, 'drainTimeout ended')!.ms as number, why).toBeLessThanOrEqual(3_500 + 100);
      expect(helperLine(result, 'drain finished'), why).toMatchObject({ exitCode: result.exit!.code });
      expect(result.stopMs, why).toBeLessThan(stopTimeoutMs);
      expect(result.failures, why).toHaveLength(0);
    });
  },
);
