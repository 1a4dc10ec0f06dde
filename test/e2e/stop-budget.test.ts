import { afterEach, describe, expect, it } from 'vitest';
import { startHelper } from '../support/helper-process.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';
import { startTask, type RealTask } from '../support/task.ts';

// test/drain/stop-budget.test.ts's budget on real Envoy 1.40: STOP_TIMEOUT=5 with the default
// waits puts /healthcheck/fail 2 s after SIGTERM and leaves callers 2 s before the waits end.
const missing = realEnvoyMissing();
if (missing) console.warn(`skipping the real-Envoy stop budget test: ${missing}`);
const SLACK_MS = 1_000;

let task: RealTask | undefined;
afterEach(() => task?.close());

const ready = (url: string): Promise<string> =>
  fetch(`${url}/ready`).then(
    (r) => r.text().then((t) => t.trim()),
    () => 'down',
  );

describe.skipIf(missing)('the stop budget against real Envoy 1.40', () => {
  it('STOP_TIMEOUT too small for the waits: Envoy reports DRAINING from when the drain is due, and the helper exits before SIGKILL', async () => {
    task = await startTask({ envoy: 'bare' });
    const helper = startHelper(['run'], { env: { ...task.env, STOP_TIMEOUT: '5', DRAIN_DELAY: '40' } });
    await helper.waitForLog('ready');
    const sigtermAt = helper.kill('SIGTERM');
    const failed = await helper.waitForLog('envoy health check failed: callers will stop routing here');
    expect(await ready(task.adminUrl)).toBe('DRAINING');
    const { code, at: exitAt } = await helper.exited;
    expect(failed.at - sigtermAt).toBeGreaterThanOrEqual(2_000);
    expect(failed.at - sigtermAt).toBeLessThan(2_000 + SLACK_MS);
    expect(exitAt - failed.at).toBeGreaterThanOrEqual(2_000 - SLACK_MS);
    expect(exitAt - sigtermAt).toBeLessThan(5_000);
    expect(code).toBe(0);
  });
});
