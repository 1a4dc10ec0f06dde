import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/support/free-port.ts';
import { runHelper } from '../../../../test/support/helper-process.ts';
import { startTask as startStack, type SimTask as Stack } from '../../../../test/support/task.ts';

let stack: Stack;
afterEach(() => stack?.close());

/** `task-helper health` as ECS runs it: its exit code and the one line it prints. */
async function health(env: Record<string, string>) {
  const { code, lines, stderr } = await runHelper(['health'], { env });
  expect(stderr).toBe('');
  expect(lines).toHaveLength(1);
  return { code, line: lines[0]!.msg };
}

describe('task-helper health', () => {
  it('exits 0 when Envoy is LIVE and the app answers', async () => {
    stack = await startStack();
    expect(await health(stack.env)).toEqual({ code: 0, line: 'healthy: app-check, envoy' });
  });

  it('exits 1 while Envoy is still INITIALIZING', async () => {
    stack = await startStack({ initializingMs: 60_000 });
    expect(await health(stack.env)).toEqual({
      code: 1,
      line: 'not healthy: envoy: envoy is INITIALIZING, not LIVE or DRAINING',
    });
  });

  it('exits 0 while Envoy is DRAINING: a draining task is alive, and an UNHEALTHY essential container counts against it', async () => {
    stack = await startStack();
    await fetch(`${stack.envoy.adminUrl}/healthcheck/fail`, { method: 'POST' });
    expect(await health(stack.env)).toEqual({ code: 0, line: 'healthy: app-check, envoy' });
  });

  it('exits 1 when Envoy is down, naming the reason', async () => {
    stack = await startStack();
    await stack.envoy.close();
    expect(await health(stack.env)).toEqual({
      code: 1,
      line: `not healthy: envoy: GET ${stack.envoy.adminUrl}/ready failed: ECONNREFUSED`,
    });
  });

  it('exits 1 when the app does not answer, and not when the app check is off', async () => {
    stack = await startStack();
    const port = String(await freePort());
    expect(await health({ ...stack.env, PORT: port })).toEqual({
      code: 1,
      line: `not healthy: app-check: app not answering at http://127.0.0.1:${port}/ping/ping (ECONNREFUSED)`,
    });
    expect(await health({ ...stack.env, PORT: port, APP_CHECK: 'false' })).toEqual({ code: 0, line: 'healthy: envoy' });
  });

  it('exits 78 with the usual message on a bad setting', async () => {
    const { code, lines, stderr } = await runHelper(['health'], { env: { DRAIN_DELAY: 'x' } });
    expect(code).toBe(78);
    expect(lines).toEqual([]);
    expect(JSON.parse(stderr)).toMatchObject({
      level: 'fatal',
      msg: 'plugin "delay": DRAIN_DELAY="x" is invalid: expected a number of seconds ≥ 0, such as 40, at most 2147483 (the longest timer Node holds)',
    });
  });
});
