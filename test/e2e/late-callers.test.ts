import { describe, expect, it } from 'vitest';
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
// Retries in flight at once above the load's concurrency: Envoy's default of 3 would turn away some
// of the 4 callers' retries at the moment the listener closes (upstream_rq_retry_overflow).
const outlierOnly = (retryOn?: 'connect-failure' | 'connect-failure,reset'): CallerKind => ({
  kind: 'envoy',
  activeHealthCheck: false,
  ...(retryOn ? { retryOn, maxRetries: 50 } : {}),
});

describe.skipIf(missing)('callers that never notice /healthcheck/fail, and those that do', () => {
  it.each([
    { name: 'HAProxy with active health checks', caller: { kind: 'haproxy' } as const },
    {
      name: 'a caller Envoy with active health checks',
      caller: { kind: 'envoy', activeHealthCheck: true } as const,
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

  it('an outlier-only caller Envoy with retry_on connect-failure: its refused connections retried, nothing lost once the app stops', async () => {
    const result = await runLateCallers({ caller: outlierOnly('connect-failure'), helperEnv });
    const why = result.describe();
    expect(result.exit.code, why).toBe(0);
    // It sent to task A all through the drain, and only the closed listener turned it away.
    expect(result.caller!.connectFailures, why).toBeGreaterThan(0);
    expect(result.caller!.retries, why).toBeGreaterThan(0);
    expect(result.caller!.retryOverflows, why).toBe(0);
    // What the close cannot save: a connection the kernel had accepted for Envoy when the listener
    // closed is reset with its request sent, which connect-failure does not retry. At most one per
    // caller connection in flight at that moment, and never a 503 after the app has stopped.
    expect(result.failed, why).toMatchObject({ appStopped: 0, envoyStopped: 0 });
    expect(result.failures.length, why).toBeLessThanOrEqual(defaultLoad.concurrency);
    for (const failure of result.failures)
      expect(failure, why).toMatchObject({
        kind: 'status',
        status: 503,
        body: expect.stringMatching(/reset reason: connection termination$/),
      });
  });

  it('an outlier-only caller Envoy that also retries resets (idempotent requests): 0 failed requests', async () => {
    const result = await runLateCallers({ caller: outlierOnly('connect-failure,reset'), helperEnv });
    const why = result.describe();
    expect(result.failures, why).toEqual([]);
    expect(result.exit.code, why).toBe(0);
    expect(result.caller!.connectFailures, why).toBeGreaterThan(0);
  });

  it('the same caller with ENVOY_CLOSE_INBOUND=false: 503s once the app has stopped, which its retry policy cannot retry', async () => {
    const result = await runLateCallers({
      caller: outlierOnly('connect-failure'),
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

  it('an outlier-only caller Envoy without a retry policy still fails requests until its outlier detection ejects task A', async () => {
    const result = await runLateCallers({ caller: outlierOnly(), helperEnv });
    const why = result.describe();
    expect(result.failures.length, why).toBeGreaterThan(0);
    expect(result.caller!.ejections, why).toBe(1);
    expect(result.failed.envoyStopped, why).toBe(0);
  });
});
