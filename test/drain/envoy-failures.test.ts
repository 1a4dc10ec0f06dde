import { afterEach, describe, expect, it } from 'vitest';
import { startHelper } from '../support/helper-process.ts';
import { startTask, type SimTask } from '../support/task.ts';

let task: SimTask;
afterEach(() => task?.close());

/** SIGTERM with DRAIN_TIMEOUT=1, then the failed step as the summary reports it. */
async function drainAgainst(env: Record<string, string>) {
  const helper = startHelper(['run'], { env: { ...env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '1' } });
  await helper.waitForLog('ready');
  helper.kill('SIGTERM');
  const { code } = await helper.exited;
  const summary = helper.lines.find((l) => l.msg === 'drain finished');
  const steps = summary?.steps as Array<{ plugin: string; hook: string; outcome: string; error?: string; ms: number }>;
  return {
    code,
    helper,
    envoyStep: steps.find((s) => s.plugin === 'envoy' && s.hook === 'drain'),
    waitStep: steps.find((s) => s.plugin === 'delay' && s.hook === 'drain'),
  };
}

describe('an Envoy that is down or answers an error: the failure is logged, DRAIN_TIMEOUT still runs, exit 1', () => {
  it('Envoy down: retried three times, then failed', async () => {
    task = await startTask();
    await task.envoy.close();
    // START_TIMEOUT=1: onStart gives up waiting for /ready after 1 s, logs it, and carries on.
    const { code, helper, envoyStep, waitStep } = await drainAgainst({ ...task.env, START_TIMEOUT: '1' });
    expect(code).toBe(1);
    expect(helper.lines.find((l) => l.msg === 'step failed' && l.hook === 'onStart')?.error).toMatch(
      /^envoy was not live after \d+ ms \(last: GET .+\/ready failed: ECONNREFUSED\); carrying on/,
    );
    expect(envoyStep).toMatchObject({
      outcome: 'failed',
      error: `POST ${task.env.ENVOY_ADMIN_URL}/healthcheck/fail failed: ECONNREFUSED`,
    });
    expect(helper.lines.filter((l) => l.msg === 'envoy admin request retry').map((l) => l.retry)).toEqual([1, 2, 3]);
    expect(waitStep).toMatchObject({ outcome: 'ok' });
    expect(waitStep!.ms).toBeGreaterThanOrEqual(1_000 - 50);
  });

  it('Envoy answering 500: retried three times (four calls), status and body logged', async () => {
    task = await startTask({ adminFaults: { '/healthcheck/fail': { status: 500, body: 'upstream trouble' } } });
    const { code, envoyStep, waitStep } = await drainAgainst(task.env);
    expect(code).toBe(1);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual(
      Array(4).fill('POST /healthcheck/fail 500'),
    );
    expect(envoyStep?.error).toBe(
      `POST ${task.env.ENVOY_ADMIN_URL}/healthcheck/fail failed: HTTP 500 "upstream trouble"`,
    );
    expect(waitStep!.ms).toBeGreaterThanOrEqual(1_000 - 50);
  });

  it('Envoy answering 405: not retried (it cannot get better), status and body logged', async () => {
    task = await startTask({
      adminFaults: { '/healthcheck/fail': { status: 405, body: 'Method GET not allowed, POST required.' } },
    });
    const { code, envoyStep, waitStep } = await drainAgainst(task.env);
    expect(code).toBe(1);
    expect(task.envoy.calls.filter((c) => c.path === '/healthcheck/fail')).toHaveLength(1);
    expect(envoyStep?.error).toBe(
      `POST ${task.env.ENVOY_ADMIN_URL}/healthcheck/fail failed: HTTP 405 "Method GET not allowed, POST required."`,
    );
    expect(waitStep!.ms).toBeGreaterThanOrEqual(1_000 - 50);
  });
});

describe('bad Envoy and delay settings: exit 78 before ready, naming the variable', () => {
  it.each([
    [
      { DRAIN_DELAY: 'abc' },
      'plugin "delay": DRAIN_DELAY="abc" is invalid: expected a number of seconds ≥ 0, such as 40, at most 2147483 (the longest timer Node holds)',
    ],
    [
      { DRAIN_TIMEOUT: '-1' },
      'plugin "delay": DRAIN_TIMEOUT="-1" is invalid: expected a number of seconds ≥ 0, such as 40, at most 2147483 (the longest timer Node holds)',
    ],
    [
      { ENVOY_ADMIN_URL: 'not a url' },
      'plugin "envoy": ENVOY_ADMIN_URL="not a url" is invalid: expected a plain http://host:port URL (no https, credentials, path, query or fragment) on a port that fetch allows (not 6000, 6665-6669 and the like)',
    ],
    [
      { ENVOY_ADMIN_ACCESS_PORT: '99999' },
      'plugin "envoy": ENVOY_ADMIN_ACCESS_PORT="99999" is invalid: expected a TCP port from 1 to 65535 that fetch allows (not 6000, 6665-6669 and the like)',
    ],
    [{ PORT: 'http' }, 'plugin "app-check": PORT="http" is invalid: expected a TCP port from 1 to 65535'],
    [
      { DRAIN_MIN: 'soon' },
      'plugin "envoy": DRAIN_MIN="soon" is invalid: expected a number of seconds ≥ 0, such as 10, at most 2147483 (the longest timer Node holds)',
    ],
  ])('%j', async (env, message) => {
    const helper = startHelper(['run'], { env });
    const { code } = await helper.exited;
    expect(code).toBe(78);
    expect(helper.lines).toEqual([expect.objectContaining({ level: 'fatal', msg: message, exitCode: 78 })]);
  });
});
