import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { startHelper, type HelperProcess } from '../support/helper-process.ts';
import { send, type Reply } from '../support/sim-stack.ts';
import { startTask, type SimTask } from '../support/task.ts';

/**
 * The real CLI driven as the kubelet drives a native sidecar (pkg/kubelet/kuberuntime, 1.37): at
 * the pod's deletion the app's preStop `httpGet` to GET /prestop, which the kubelet waits on with
 * no timeout of its own; once it is answered, SIGTERM to the app, and only after the app has exited
 * SIGTERM to the helper. Timers never fire early, so lower bounds are exact; upper bounds allow a
 * busy machine a second.
 */
const SLACK_MS = 1_000;
/** The kubelet's hook client names itself so (probe's user agent, "lifecycle" fragment). */
const KUBELET = { 'user-agent': 'kube-lifecycle/1.37' };

let task: SimTask;
let helper: HelperProcess | undefined;
afterEach(async () => {
  helper?.kill('SIGKILL');
  helper = undefined;
  await task?.close();
});

async function startSidecar(env: Record<string, string>) {
  task = await startTask();
  const port = await freePort();
  helper = startHelper(['run'], {
    env: { ...task.env, PRESTOP_HOST: '127.0.0.1', PRESTOP_PORT: String(port), ...env },
  });
  await helper.waitForLog('ready');
  const preStop = (): Promise<Reply & { at: number }> =>
    send(`http://127.0.0.1:${port}/prestop`, { headers: KUBELET }).then((reply) => ({ ...reply, at: Date.now() }));
  return { helper, preStop };
}

const failAt = () => task.healthcheckFailAt();

describe("the kubelet's preStop call holds the app while callers leave", () => {
  it('GET /prestop is answered only once DRAIN_DELAY, the fail and DRAIN_TIMEOUT are over; the app serves all along; SIGTERM then exits at once', async () => {
    const { helper, preStop } = await startSidecar({ STOP_TIMEOUT: '30', DRAIN_DELAY: '1', DRAIN_TIMEOUT: '2' });
    const calledAt = Date.now();
    const hook = preStop();
    // Callers through Envoy while the hook is held: every request answered by the app.
    const served: number[] = [];
    let held = true;
    void hook.then(() => void (held = false));
    while (held) served.push((await send(`${task.listenerUrl}/`)).status);

    const answer = await hook;
    expect(answer).toMatchObject({ status: 200, body: 'drained\n' });
    expect(failAt()! - calledAt).toBeGreaterThanOrEqual(1_000);
    expect(failAt()! - calledAt).toBeLessThan(1_000 + SLACK_MS);
    expect(answer.at - failAt()!).toBeGreaterThanOrEqual(2_000 - 50);
    expect(answer.at - failAt()!).toBeLessThan(2_000 + SLACK_MS);
    expect(served.length).toBeGreaterThan(10);
    expect(served.filter((status) => status !== 200)).toEqual([]);
    expect(helper.lines.find((l) => l.msg === 'preStop call received')).toMatchObject({
      signal: 'preStop',
      budgetMs: 28_000,
    });
    expect(helper.lines.find((l) => l.msg === 'preStop call answered')).toMatchObject({
      status: 200,
      userAgent: KUBELET['user-agent'],
    });

    // Answered, the helper stays up: the kubelet stops a native sidecar only after the app exits.
    expect(helper.child.exitCode).toBeNull();
    // A second call (a second container's hook, a retry by hand) gets the same answer at once.
    const again = await preStop();
    expect(again).toMatchObject({ status: 200, body: 'drained\n' });
    expect(helper.lines.filter((l) => l.msg === 'drain finished')).toHaveLength(1);

    const sigtermAt = helper.kill('SIGTERM');
    const { code, at } = await helper.exited;
    expect(code).toBe(0);
    expect(at - sigtermAt).toBeLessThan(SLACK_MS);
    expect(task.envoy.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/healthcheck/fail']);
  });

  it('a grace period too short for the waits: the fail goes out when due and the answer comes before the 2 s the app keeps', async () => {
    // 7 s, the least accepted: the helper's budget is 5 s, the fail due at 2 s, the waits end at 4 s.
    const { helper, preStop } = await startSidecar({ STOP_TIMEOUT: '7', DRAIN_DELAY: '40', DRAIN_TIMEOUT: '40' });
    const calledAt = Date.now();
    const answer = await preStop();
    expect(answer.status).toBe(200);
    expect(failAt()! - calledAt).toBeGreaterThanOrEqual(2_000);
    expect(failAt()! - calledAt).toBeLessThan(2_000 + SLACK_MS);
    // DRAIN_TIMEOUT ends when the waits must (abortAt, 4 s after the call): callers get the rest.
    expect(answer.at - calledAt).toBeGreaterThanOrEqual(4_000);
    // Answered before the kubelet's 7 − 2 s: the app's SIGTERM keeps its 2 s inside the grace period.
    expect(answer.at - calledAt).toBeLessThan(5_000);
    expect(helper.lines.find((l) => l.level === 'warn' && l.plugin === 'delay')?.msg).toContain(
      'the 2 s the kubelet keeps after the preStop hook',
    );
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
  });

  it("SIGTERM with no preStop call first (the app's hook never reached the helper): the sidecar's 2 s, the fail at once, a warning", async () => {
    const { helper } = await startSidecar({ STOP_TIMEOUT: '30', DRAIN_DELAY: '5', DRAIN_TIMEOUT: '15' });
    const sigtermAt = helper.kill('SIGTERM');
    const { code, at } = await helper.exited;
    expect(code).toBe(0);
    expect(failAt()! - sigtermAt).toBeLessThan(800 + SLACK_MS);
    expect(at - sigtermAt).toBeLessThan(2_000);
    expect(helper.lines.find((l) => l.msg.startsWith('stop signal with no preStop call before it'))).toMatchObject({
      level: 'warn',
      budgetMs: 2_000,
    });
  });
});

describe('bad input: one line, exit 78, before ready', () => {
  it.each([
    [{ PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' }, /^PRESTOP_PORT is set but PRESTOP_HOST is not/],
    [{ PRESTOP_HOST: '127.0.0.1', PRESTOP_PORT: '9902' }, /^PRESTOP_PORT is set but STOP_TIMEOUT is not/],
    [
      { PRESTOP_HOST: '192.0.2.1', PRESTOP_PORT: '9902', STOP_TIMEOUT: '30' },
      /\(EADDRNOTAVAIL\): not an address of this pod/,
    ],
  ])('%o', async (env, message) => {
    task = await startTask();
    const bad = startHelper(['run'], { env: { ...task.env, ...env } });
    const { code } = await bad.exited;
    expect(code).toBe(78);
    const fatal = bad.lines.filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.msg).toMatch(message);
    expect(bad.lines.find((l) => l.msg === 'ready')).toBeUndefined();
  });
});
