import { describe, expect, it } from 'vitest';
import { runCallerDrain } from '../support/caller-drain.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';

const envoyMissing = realEnvoyMissing();
if (envoyMissing) console.warn(`skipping the traffic-aware end on real caller Envoys: ${envoyMissing}`);

// The quiet period follows the callers' pace during DRAIN_DELAY (plugin-envoy's traffic.ts): busy
// callers that have left end the drain within a fraction of a second, sparse ones and callers
// that never act on the fail keep the task. How long each takes against Envoy Gateway's shutdown
// manager: bench/caller-drain.ts. Bounds here have wide margins: the old rule (a fixed 1 s quiet
// after the last answer) can never meet the first, a hasty end can never meet the others.
const helperEnv = { DRAIN_DELAY: '2', DRAIN_MIN: '1', DRAIN_TIMEOUT: '20' };
const underLoad = { concurrency: 4, pauseMs: 5 };
const sparse = { concurrency: 1, pauseMs: 250 };

describe.skipIf(envoyMissing)('the traffic-aware end on real caller Envoys (1.40)', () => {
  it('callers under load, a request in flight across the fail: ends after it, well within 1 s, 0 failed', async () => {
    const sentAt = Date.now();
    const r = await runCallerDrain({ checks: 'active', helperEnv, load: underLoad, slowMs: 4_000 });
    const why = r.describe();
    expect(r.quietPeriod, why).toMatchObject({ quietMs: 200, basis: 'callers pace' });
    expect(r.endedBy, why).toBe('traffic stopped');
    // Task A stops as soon as the helper exits: the slow request could only succeed if the end waited for it.
    expect(r.slow, why).toMatchObject({ kind: 'ok' });
    expect(r.failures, why).toHaveLength(0);
    const endedAt = r.trafficStopped!.time as number;
    expect(endedAt, why).toBeGreaterThanOrEqual(sentAt + 4_000);
    // In flight at the fail, its answer ends the drain at the next read (100 ms); the fixed 1 s never came under 1 s.
    expect(endedAt - r.lastServedByA, why).toBeLessThan(800);
    expect(r.exitCode, why).toBe(0);
  });

  it('sparse callers with active health checks: all of DRAIN_QUIET_PERIOD after their last request, 0 failed', async () => {
    const r = await runCallerDrain({ checks: 'active', helperEnv, load: sparse });
    const why = r.describe();
    expect(r.quietPeriod, why).toMatchObject({ quietMs: 1_000, basis: 'callers pace' });
    expect(r.endedBy, why).toBe('traffic stopped');
    expect(r.failures, why).toHaveLength(0);
    // 1 s of quiet counts from the read that saw the last answer, which came back to the client at or after Envoy counted it.
    expect((r.trafficStopped!.time as number) - r.lastServedByA, why).toBeGreaterThanOrEqual(700);
  });

  it.each([
    { name: 'sparse', load: sparse, quietMs: 1_000 },
    { name: 'under load', load: underLoad, quietMs: 200 },
  ])(
    'callers without active health checks ($name) keep the task: DRAIN_TIMEOUT runs out',
    async ({ load, quietMs }) => {
      const r = await runCallerDrain({ checks: 'outlier-only', helperEnv: { ...helperEnv, DRAIN_TIMEOUT: '3' }, load });
      const why = r.describe();
      expect(r.quietPeriod, why).toMatchObject({ quietMs, basis: 'callers pace' });
      expect(r.endedBy, why).toBe('timeout');
      expect(r.trafficStopped, why).toBeUndefined();
      // They sent to task A until the end: never acting on the fail is why only the timeout may end it.
      expect(r.lastServedByA, why).toBeGreaterThan(r.exitAt - 1_000);
    },
  );
});
