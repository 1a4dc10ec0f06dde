import { afterEach, describe, expect, it } from 'vitest';
import { startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';

// Behind HAProxy's health checks, on real Envoy and the simulator: test/e2e/traffic-aware.test.ts.

let task: SimTask;
afterEach(() => task?.close());

const env = (extra: Record<string, string>) => ({
  ...task.env,
  DRAIN_DELAY: '0',
  DRAIN_TIMEOUT: '20',
  DRAIN_MIN: '0.5',
  DRAIN_QUIET_PERIOD: '0.5',
  ...extra,
});

describe("the traffic-aware drain (DRAIN_MIN), against the simulator's stats", () => {
  it('ends DRAIN_TIMEOUT early once Envoy shows no request in flight or arriving, after DRAIN_MIN', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: env({}) });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    const ended = helper.lines.find((l) => l.msg === 'drainTimeout ended');
    expect(ended).toMatchObject({ reason: 'traffic stopped' });
    // Quiet all along, so it ends at DRAIN_MIN (0.5 s) after the fail, never before: on the rule's
    // own clock, which starts at the fail, a few ms before the DRAIN_TIMEOUT wait's (497 ms seen once).
    const stopped = helper.lines.find((l) => l.msg === 'traffic stopped');
    expect(stopped?.sinceFailMs).toBeGreaterThanOrEqual(500);
    expect(ended?.ms).toBeLessThan(5_000);
    // The helper's own stats polling goes through the admin listener and never counts as traffic.
    expect(task.envoy.calls.filter((c) => c.path === '/stats').length).toBeGreaterThan(1);
  });

  it('keeps waiting while a slow request is in flight, and ends once it completes', async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: env({}) });
    await helper.waitForLog('ready');
    const sentAt = Date.now();
    const slow = fetch(`${task.envoy.listenerUrl}/slow?ms=2500`);
    helper.kill('SIGTERM');
    expect((await slow).status).toBe(200);
    expect((await helper.exited).code).toBe(0);
    const ended = helper.lines.find((l) => l.msg === 'drainTimeout ended');
    expect(ended).toMatchObject({ reason: 'traffic stopped' });
    // The request completes at least 2.5 s after it was sent; the wait must outlast it. (Counting
    // from the wait's own start raced: the stop sequence's first steps take longer on a busy machine.)
    expect(ended?.time as number).toBeGreaterThanOrEqual(sentAt + 2_500);
  });

  it("waits the full DRAIN_TIMEOUT when Envoy's stats do not have the named connection manager", async () => {
    task = await startTask();
    const helper = startHelper(['run'], { env: env({ DRAIN_TIMEOUT: '2', ENVOY_STAT_PREFIXES: 'nonexistent' }) });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(helper.lines.find((l) => l.msg === 'drainTimeout ended')).toMatchObject({ reason: 'timeout' });
    expect(helper.lines.find((l) => l.msg.startsWith('traffic stats missing'))).toMatchObject({
      level: 'warn',
      statPrefixes: 'nonexistent',
    });
  });

  it('does not watch traffic when /healthcheck/fail failed: downstreams are still routing here', async () => {
    task = await startTask({ adminFaults: { '/healthcheck/fail': { status: 405 } } });
    const helper = startHelper(['run'], { env: env({ DRAIN_TIMEOUT: '2' }) });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(1);
    expect(helper.lines.find((l) => l.msg === 'drainTimeout ended')).toMatchObject({ reason: 'timeout' });
    expect(task.envoy.calls.filter((c) => c.path === '/stats')).toEqual([]);
  });
});
