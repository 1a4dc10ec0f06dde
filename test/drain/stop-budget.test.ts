import path from 'node:path';
import { startToyApp, type ToyApp } from '@task-helper/envoy-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { drainOnce } from '../support/drain-once.ts';
import { hasRealEnvoy } from '../support/envoy-binary.ts';
import { startHelper } from '../support/helper-process.ts';
import { startRealEnvoy, type RealEnvoy } from '../support/real-envoy.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Issue 12, items 1 and 2: whatever the stop budget and the other plugins do, POST
 * /healthcheck/fail goes out when the stop schedule says, with time for callers to notice.
 * Timers never fire early, so lower bounds are exact; upper bounds allow a busy machine a second.
 */
const SLACK_MS = 1_000;
const MISBEHAVE_CONFIG = path.resolve(import.meta.dirname, 'fixtures/misbehave.config.ts');

let stack: Stack;
afterEach(() => stack?.close());

describe("1. the stop budget cuts waits, never the drain's action", () => {
  it('STOP_TIMEOUT=10 DRAIN_DELAY=40: the fail goes out at 4 s, callers get 4 s, the helper exits before SIGKILL', async () => {
    stack = await startStack();
    const { code, failAfterMs, exitAt, sigtermAt, helper } = await drainOnce(stack, {
      STOP_TIMEOUT: '10',
      DRAIN_DELAY: '40',
    });
    expect(code).toBe(0);
    expect(failAfterMs).toBeGreaterThanOrEqual(4_000);
    expect(failAfterMs).toBeLessThan(4_000 + SLACK_MS);
    expect(exitAt - sigtermAt - failAfterMs!).toBeGreaterThanOrEqual(4_000 - SLACK_MS);
    expect(exitAt - sigtermAt).toBeLessThan(10_000);
    expect(helper.lines.find((l) => l.msg === 'wait cut short' && l.wait === 'drainDelay')).toMatchObject({
      cause: 'drain action due',
    });
  });

  it('STOP_TIMEOUT=30 with the defaults (40 + 40): the fail goes out at 12.5 s, callers get 12.5 s', async () => {
    stack = await startStack();
    const { code, failAfterMs, exitAt, sigtermAt, helper } = await drainOnce(stack, { STOP_TIMEOUT: '30' });
    expect(code).toBe(0);
    expect(failAfterMs).toBeGreaterThanOrEqual(12_500);
    expect(failAfterMs).toBeLessThan(12_500 + SLACK_MS);
    expect(exitAt - sigtermAt - failAfterMs!).toBeGreaterThanOrEqual(12_500 - SLACK_MS);
    expect(exitAt - sigtermAt).toBeLessThan(30_000);
    // The start-up warning names the schedule that runs.
    expect(helper.lines.find((l) => l.level === 'warn' && l.plugin === 'delay')?.msg).toContain(
      'DRAIN_DELAY will be cut to 12.5 s and DRAIN_TIMEOUT to 12.5 s',
    );
  }, 40_000);
});

describe.skipIf(!hasRealEnvoy())('1. against the real Envoy (.tools/bin/envoy)', () => {
  let envoy: RealEnvoy | undefined;
  let app: ToyApp | undefined;
  afterEach(async () => {
    await envoy?.close();
    await app?.close();
  });
  const ready = (url: string): Promise<string> =>
    fetch(`${url}/ready`).then(
      (r) => r.text().then((t) => t.trim()),
      () => 'down',
    );

  it('STOP_TIMEOUT=10 DRAIN_DELAY=40: Envoy reports DRAINING from 4 s on, and the helper exits before SIGKILL', async () => {
    app = await startToyApp();
    envoy = await startRealEnvoy({ upstreamPort: app.port });
    const helper = startHelper(['run'], {
      env: { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port), STOP_TIMEOUT: '10', DRAIN_DELAY: '40' },
    });
    await helper.waitForLog('ready');
    const sigtermAt = helper.kill('SIGTERM');
    const failed = await helper.waitForLog('envoy health check failed: callers will stop routing here', 10_000);
    expect(await ready(envoy.adminUrl)).toBe('DRAINING');
    const { code, at: exitAt } = await helper.exited;
    expect(failed.at - sigtermAt).toBeGreaterThanOrEqual(4_000);
    expect(failed.at - sigtermAt).toBeLessThan(4_000 + SLACK_MS);
    expect(exitAt - failed.at).toBeGreaterThanOrEqual(4_000 - SLACK_MS);
    expect(exitAt - sigtermAt).toBeLessThan(10_000);
    expect(code).toBe(0);
  });
});

describe('2. a plugin cannot use up the budget before the drain', () => {
  it.each([
    ['beforeDrain:hang', '10'],
    ['beforeDrain:hang-forever', '10'],
    ['beforeDrain:hang-forever', '30'],
    ['drain:hang-forever', '10'],
  ])(
    "%s with STOP_TIMEOUT=%s: the hang is cut when the drain's action is due, and the fail goes out",
    async (misbehave, stopTimeout) => {
      stack = await startStack();
      const dueMs = stopTimeout === '10' ? 4_000 : 12_500;
      const { code, failAfterMs, exitAt, sigtermAt, steps } = await drainOnce(
        stack,
        { STOP_TIMEOUT: stopTimeout, MISBEHAVE: misbehave },
        ['--config', MISBEHAVE_CONFIG],
      );
      expect(failAfterMs).toBeGreaterThanOrEqual(dueMs);
      expect(failAfterMs).toBeLessThan(dueMs + SLACK_MS);
      expect(steps).toContainEqual(expect.objectContaining({ plugin: 'envoy', hook: 'drain', outcome: 'ok' }));
      expect(steps).toContainEqual(
        expect.objectContaining({
          plugin: 'misbehave',
          outcome: 'timeout',
          error: 'did not stop when asked (drain action due)',
        }),
      );
      expect(code).toBe(1);
      expect(exitAt - sigtermAt).toBeLessThan(Number(stopTimeout) * 1000);
    },
    40_000,
  );
});
