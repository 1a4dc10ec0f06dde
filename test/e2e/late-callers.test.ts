import { describe, expect, it } from 'vitest';
import { callerOutlierDetection } from '../support/caller-envoy.ts';
import { haproxyMissing } from '../support/haproxy.ts';
import { runLateCallers, type CallerKind } from '../support/late-callers.ts';
import { defaultLoad } from '../support/load.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';

// ENVOY_CLOSE_INBOUND (default true): the helper closes its Envoy's inbound listeners just before it
// exits, so a caller that never noticed /healthcheck/fail gets a refused connection instead of a
// 503 once ECS stops the app. Each test is one stop as ECS does it (helper, then app, then Envoy)
// with real Envoy 1.40 sidecars (examples/envoy/envoy.yaml) and a real caller: the claims of
// docs/operations.md's "Callers that never notice the fail" table (`make late-callers-table`).
const missing = realEnvoyMissing() ?? haproxyMissing();
if (missing) console.warn(`skipping the late-caller stops: ${missing}`);

// HAProxy and the callers' active health checks mark task A failed within 1 s of /healthcheck/fail.
const helperEnv = { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '2' };
const closed = 'envoy inbound listeners closed: new connections refused';
const outlierOnly = (retryConnectFailure: boolean): CallerKind => ({
  kind: 'envoy',
  activeHealthCheck: false,
  retryConnectFailure,
});

describe.skipIf(missing)('callers that never notice /healthcheck/fail, and those that do', () => {
  it.each([
    { name: 'HAProxy with active health checks', caller: { kind: 'haproxy' } as const },
    {
      name: 'a caller Envoy with active health checks',
      caller: { kind: 'envoy', activeHealthCheck: true, retryConnectFailure: false } as const,
    },
  ])('$name: 0 failed requests, the listeners closed by default', async ({ caller }) => {
    const result = await runLateCallers({ caller, helperEnv });
    const why = result.describe();
    expect(result.failures, why).toEqual([]);
    expect(result.exit.code, why).toBe(0);
    expect(
      result.helper.lines.filter((l) => l.msg === closed),
      why,
    ).toHaveLength(1);
  });

  it('an outlier-only caller Envoy with retry_on connect-failure: 0 failed requests, its refused connections retried', async () => {
    const result = await runLateCallers({ caller: outlierOnly(true), helperEnv });
    const why = result.describe();
    expect(result.failures, why).toEqual([]);
    expect(result.exit.code, why).toBe(0);
    // It sent to task A all through the drain, and only the closed listener turned it away.
    expect(result.caller!.connectFailures, why).toBeGreaterThan(0);
    expect(result.caller!.retries, why).toBeGreaterThan(0);
  });

  it('the same caller with ENVOY_CLOSE_INBOUND=false: 503s once the app has stopped, which its retry policy cannot retry', async () => {
    const result = await runLateCallers({
      caller: outlierOnly(true),
      helperEnv: { ...helperEnv, ENVOY_CLOSE_INBOUND: 'false' },
    });
    const why = result.describe();
    expect(result.failures.length, why).toBeGreaterThan(0);
    expect(result.failed, why).toMatchObject({ duringDrain: 0, appStopped: result.failures.length });
    expect(new Set(result.failures.map((f) => (f.kind === 'status' ? f.status : f.kind))), why).toEqual(new Set([503]));
    expect(result.caller!.retries, why).toBe(0);
    expect(
      result.helper.lines.some((l) => String(l.msg).startsWith('envoy inbound listeners')),
      why,
    ).toBe(false);
  });

  it('an outlier-only caller Envoy without a retry policy still fails requests until it ejects task A, no more with the close than without', async () => {
    // Its outlier detection ejects A after 5 consecutive failures; the requests in flight then may fail too.
    const bound = callerOutlierDetection.consecutive5xx + defaultLoad.concurrency;
    for (const close of ['true', 'false']) {
      const result = await runLateCallers({
        caller: outlierOnly(false),
        helperEnv: { ...helperEnv, ENVOY_CLOSE_INBOUND: close },
      });
      const why = `ENVOY_CLOSE_INBOUND=${close}\n${result.describe()}`;
      expect(result.failures.length, why).toBeGreaterThan(0);
      expect(result.failures.length, why).toBeLessThanOrEqual(bound);
      expect(result.caller!.ejections, why).toBe(1);
      expect(result.failed.envoyStopped, why).toBe(0);
    }
  });
});
