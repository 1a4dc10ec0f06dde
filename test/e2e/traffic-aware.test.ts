import { afterEach, describe, expect, it } from 'vitest';
import { closeAllHaproxies, defaultHealthCheck, detectionLimitMs, haproxyMissing } from '../support/haproxy.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';
import { runTrafficDrain, type EnvoyKind } from '../support/traffic-drain.ts';

const noHaproxy = haproxyMissing();
if (noHaproxy) console.warn(`skipping the traffic-aware drain behind HAProxy: ${noHaproxy}`);
const envoyMissing = realEnvoyMissing();
if (envoyMissing) console.warn(`skipping the traffic-aware drain on real Envoy: ${envoyMissing}`);

// HAProxy health-checks every 500 ms through the whole drain, so health checks keep reaching the
// draining task (answered 503) after callers have gone: they must not count as callers, on any
// Envoy. DRAIN_MIN is HAProxy's detection limit (inter × fall); the stop time against the goal
// (at most 1.75 × that limit) is measured in bench/traffic-aware.ts, not asserted here.
describe.skipIf(noHaproxy)('the traffic-aware drain behind HAProxy health-checking every 500 ms', () => {
  afterEach(() => closeAllHaproxies());
  // The default quiet period (1 s) is longer than HAProxy's interval: counted as callers, its
  // checks would hold the drain to DRAIN_TIMEOUT, as they did on 1.29 before.
  const helperEnv = {
    DRAIN_DELAY: '0',
    DRAIN_TIMEOUT: '20',
    DRAIN_MIN: String(detectionLimitMs(defaultHealthCheck) / 1000),
  };
  const kinds: Array<{ name: string; kind: EnvoyKind; available: boolean }> = [
    {
      name: 'real Envoy 1.40, dotted stat prefix in ENVOY_STAT_PREFIXES',
      kind: { real: true, statPrefix: 'inbound_0.0.0.0_15000' },
      available: !envoyMissing,
    },
    {
      name: 'envoy-sim, 1.29 stat set (no health_check.* counters)',
      kind: { real: false, statSet: '1.29' },
      available: true,
    },
  ];

  it.each(kinds.filter((k) => k.available))(
    '$name: ends by "traffic stopped", with 0 failed requests',
    async ({ kind }) => {
      const result = await runTrafficDrain(kind, helperEnv);
      const why = result.describe();
      expect(result.failures, why).toHaveLength(0);
      expect(result.exit.code, why).toBe(0);
      expect(result.endedBy, why).toBe('traffic stopped');
      expect(result.healthChecksDuringDrain, why).toBeGreaterThanOrEqual(2);
      expect(
        result.helper.lines.some((l) => l.level === 'warn'),
        why,
      ).toBe(false);
    },
    60_000,
  );
});
