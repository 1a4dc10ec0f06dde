import { readFileSync } from 'node:fs';
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

describe('an Envoy that is down or answers an error: the failure is logged, exit 1', () => {
  // STOP_TIMEOUT=5: the waits end at 4 s, so the POST's retries have until then.
  it('Envoy down: retried until the waits must end (not a fixed count), then failed', async () => {
    task = await startTask();
    await task.envoy.close();
    // START_TIMEOUT=1: onStart gives up waiting for /ready after 1 s, logs it, and carries on.
    const { code, helper, envoyStep } = await drainAgainst({ ...task.env, START_TIMEOUT: '1', STOP_TIMEOUT: '5' });
    expect(code).toBe(1);
    expect(helper.lines.find((l) => l.msg === 'step failed' && l.hook === 'onStart')?.error).toMatch(
      /^envoy was not live after \d+ ms \(last: GET .+\/ready failed: ECONNREFUSED\); carrying on/,
    );
    expect(envoyStep).toMatchObject({ outcome: 'failed' });
    expect(envoyStep!.error).toMatch(
      new RegExp(
        `^POST ${task.env.ENVOY_ADMIN_URL}/healthcheck/fail failed: ECONNREFUSED \\(\\d+ attempts in \\d+ ms\\)$`,
      ),
    );
    // The fail's own retries; the inbound listeners' close after it retries within its second too.
    const retries = helper.lines
      .filter((l) => l.msg === 'envoy admin request retry' && l.path === '/healthcheck/fail')
      .map((l) => l.retry);
    expect(retries.length).toBeGreaterThan(3);
    expect(retries).toEqual(retries.map((_, i) => i + 1));
  });

  it('Envoy answering 500: retried until the waits must end, status and body logged', async () => {
    task = await startTask({ adminFaults: { '/healthcheck/fail': { status: 500, body: 'upstream trouble' } } });
    const { code, envoyStep } = await drainAgainst({ ...task.env, STOP_TIMEOUT: '5' });
    expect(code).toBe(1);
    const posts = task.envoy.calls
      .filter((c) => c.method === 'POST' && c.path === '/healthcheck/fail')
      .map((c) => `${c.method} ${c.path} ${c.status}`);
    expect(posts.length).toBeGreaterThan(4);
    expect(posts).toEqual(posts.map(() => 'POST /healthcheck/fail 500'));
    expect(envoyStep?.error).toMatch(
      new RegExp(
        `^POST ${task.env.ENVOY_ADMIN_URL}/healthcheck/fail failed: HTTP 500 "upstream trouble" \\(${posts.length} attempts in \\d+ ms\\)$`,
      ),
    );
  });

  it('Envoy answering 405: not retried (it cannot get better), status and body logged; DRAIN_TIMEOUT still runs', async () => {
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

/** VmRSS or VmHWM (the peak so far) of a running process, in bytes, from /proc. */
function memory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

describe('answers that never end: judged by the status line, read up to a cap', () => {
  it('a 200 to /healthcheck/fail whose body never ends: the POST is done at its status line, DRAIN_TIMEOUT runs, exit 0', async () => {
    task = await startTask({
      adminFaults: { '/healthcheck/fail': { status: 200, body: 'OK\n', stream: 'stall' } },
    });
    const { code, helper, envoyStep, waitStep } = await drainAgainst(task.env);
    expect(envoyStep).toMatchObject({ outcome: 'ok' });
    expect(helper.lines.some((l) => l.msg === 'envoy health check failed: callers will stop routing here')).toBe(true);
    expect(waitStep).toMatchObject({ outcome: 'ok' });
    expect(waitStep!.ms).toBeGreaterThanOrEqual(1_000 - 50);
    expect(code).toBe(0);
  });

  it('endless bodies on /healthcheck/fail and /stats: peak RSS stays within idle + 20 MB', async () => {
    task = await startTask({
      adminFaults: {
        '/healthcheck/fail': { status: 200, body: 'OK\n', stream: 'flood' },
        '/stats': { status: 200, body: '{"name":"http.ingress.downstream_rq_active","value":0},', stream: 'flood' },
      },
    });
    const helper = startHelper(['run'], {
      env: { ...task.env, DRAIN_DELAY: '0', DRAIN_TIMEOUT: '5', DRAIN_MIN: '1' },
    });
    await helper.waitForLog('ready');
    const pid = helper.child.pid!;
    const idle = memory(pid, 'VmRSS');
    helper.kill('SIGTERM');
    const unreadable = await helper.waitForLog('traffic stats unreadable: waiting the full DRAIN_TIMEOUT');
    const peak = memory(pid, 'VmHWM');
    expect(unreadable.error).toBe(
      `GET ${task.env.ENVOY_ADMIN_URL}/stats?format=json&filter=${encodeURIComponent('^http\\..+\\.(downstream_rq_active|downstream_rq_completed)$')} failed: the answer was longer than 1048576 bytes`,
    );
    expect(helper.lines.some((l) => l.msg === 'envoy health check failed: callers will stop routing here')).toBe(true);
    console.info(`peak RSS ${(peak / 2 ** 20).toFixed(1)} MB, idle ${(idle / 2 ** 20).toFixed(1)} MB`);
    expect(peak - idle).toBeLessThan(20 * 2 ** 20);
    helper.kill('SIGKILL');
    await helper.exited;
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
