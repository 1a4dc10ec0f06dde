import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { container, loadTaskDefinition } from '../../examples/ecs/task-definition.ts';
import { dockerMissing, dockerOk, removeLabelled, TEST_LABEL } from '../support/docker.ts';
import { buildImages, images } from '../support/docker-images.ts';
import {
  containerEvents,
  type EcsTask,
  formatTimeline,
  helperEvents,
  startEcsTask,
  type TimelineEvent,
} from '../support/ecs-task.ts';
import { haproxyConfig } from '../support/haproxy.ts';
import { failureCount, type Load, startLoad, summarizeLoad } from '../support/load.ts';

// examples/ecs/task-definition.json itself, as ECS runs it, on the images just built: two tasks
// behind HAProxy (health-checking each task's Envoy ingress, as a load balancer does), steady load
// through HAProxy, then task A stopped as the ECS agent stops it. Nothing in the definition is
// overridden: DRAIN_DELAY 40 s, DRAIN_TIMEOUT 40 s, DRAIN_MIN 20 s, stopTimeout 120 s.
const missing = dockerMissing();
const run = `th-${randomUUID().slice(0, 8)}`;
const definition = loadTaskDefinition();
const ingressPort = container(definition, 'envoy').portMappings?.[0]?.containerPort;

interface ServerRow {
  name: string;
  status: string;
}

/** HAProxy's `show stat` for the tasks backend, on its admin socket (in the mounted folder). */
function servers(socket: string): Promise<ServerRow[]> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let answer = '';
    conn.setEncoding('utf8');
    conn.setTimeout(2_000, () => conn.destroy(new Error('no answer on the admin socket')));
    conn.on('data', (chunk: string) => void (answer += chunk));
    conn.once('error', reject);
    conn.once('close', () => {
      const [header = '', ...rows] = answer.split('\n').filter((l) => l.trim() !== '');
      const columns = header.replace(/^#\s*/, '').split(',');
      const parsed = rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [columns[i], v])));
      resolve(
        parsed
          .filter((r) => r.pxname === 'tasks' && r.svname !== 'BACKEND')
          .map((r) => ({ name: r.svname ?? '', status: r.status ?? '' })),
      );
    });
    conn.end('show stat\n');
  });
}

async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(missing)('the ECS task definition on the real engine: task A stops behind HAProxy', () => {
  const tasks: EcsTask[] = [];
  let callerDir: string;
  let load: Load | undefined;

  beforeAll(async () => {
    await buildImages();
    await dockerOk(['network', 'create', '--internal', '--label', TEST_LABEL, '--label', `run=${run}`, run]);
    const started = await Promise.all(
      ['a', 'b'].map((name) =>
        startEcsTask(definition, { name, labels: { run }, network: run, pauseImage: 'debian:bookworm-slim' }),
      ),
    );
    tasks.push(...started);
    // Each helper has checked Envoy and the app at start.
    for (const task of tasks)
      await pollUntil(
        `${task.name}/task-helper ready`,
        async () => ((await task.logs('task-helper')).includes('"msg":"ready"') ? true : undefined),
        60_000,
      );

    callerDir = mkdtempSync('/tmp/task-helper-caller-');
    const config = haproxyConfig(
      { servers: tasks.map((t) => ({ name: t.name, url: `http://${t.ip}:${ingressPort}` })) },
      0,
      '/run/caller/admin.sock',
    ).replace(/bind 127\.0\.0\.1:0\n/, 'bind unix@/run/caller/frontend.sock mode 666\n');
    writeFileSync(path.join(callerDir, 'haproxy.cfg'), config);
    await dockerOk([
      'run',
      '--detach',
      '--name',
      `${run}-caller`,
      '--network',
      run,
      '--label',
      TEST_LABEL,
      '--label',
      `run=${run}`,
      '--volume',
      `${callerDir}:/run/caller`,
      images.caller,
    ]);
    await pollUntil(
      'HAProxy sees both tasks UP',
      async () => {
        const rows = await servers(path.join(callerDir, 'admin.sock'));
        return rows.length === 2 && rows.every((r) => r.status === 'UP') ? rows : undefined;
      },
      30_000,
    );
  }, 600_000);

  afterAll(async () => {
    await load?.stop();
    for (const task of tasks) await task.remove();
    await removeLabelled(`run=${run}`);
    if (callerDir) rmSync(callerDir, { recursive: true, force: true });
  }, 60_000);

  it('drains A with zero failed requests: the helper exits first, then the app, then Envoy, all with 0, none UNHEALTHY', async () => {
    const [a, b] = tasks as [EcsTask, EcsTask];
    load = startLoad('http://caller', { socketPath: path.join(callerDir, 'frontend.sock') });
    await load.waitFor((s) => (s.okByServer.a ?? 0) >= 20 && (s.okByServer.b ?? 0) >= 20, 30_000, 'both tasks serve');

    // HAProxy's view of A while it stops, as a load balancer's health checks see it.
    const caller: TimelineEvent[] = [];
    let watching = true;
    const watchCaller = (async () => {
      let last = 'UP';
      while (watching) {
        const status = (await servers(path.join(callerDir, 'admin.sock')).catch(() => [])).find(
          (r) => r.name === 'a',
        )?.status;
        if (status && status !== last) caller.push({ at: Date.now(), what: `HAProxy: server a ${(last = status)}` });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    await a.stop();
    const stoppedAt = Date.now();
    const completedThen = load.stats.completed;
    await load.waitFor((s) => s.completed >= completedThen + 200, 30_000, 'requests after A stopped');
    watching = false;
    await watchCaller;
    const stats = await load.stop();
    load = undefined;

    const helperLogs = await a.logs('task-helper');
    const helper = a.containers.get('task-helper')!;
    const app = a.containers.get('app')!;
    const envoy = a.containers.get('envoy')!;
    const events = [...containerEvents(a), ...helperEvents(helperLogs, 'a'), ...caller];
    console.log(
      `ECS-shaped task A stop (${summarizeLoad(stats)}; ${((stoppedAt - helper.stopAt!) / 1000).toFixed(1)} s from the helper's SIGTERM to Envoy's exit):\n${formatTimeline(events, helper.stopAt!)}`,
    );

    expect(failureCount(stats), `${summarizeLoad(stats)}\n${JSON.stringify(stats.failures.slice(0, 5))}`).toBe(0);
    expect(stats.lastOkSentAt.b).toBeGreaterThan(stoppedAt);

    // Every container exited by itself on SIGTERM (no SIGKILL: 137), none before the task stopped it.
    for (const c of a.containers.values()) {
      expect({ name: c.definition.name, exitCode: c.exitCode, exitedEarly: c.exitedEarly }).toEqual({
        name: c.definition.name,
        exitCode: 0,
        exitedEarly: undefined,
      });
    }
    // The helper drained (POSTed the fail, HAProxy took A out) before the app and Envoy got SIGTERM.
    const failPosted = helperEvents(helperLogs, 'a').find((e) => e.what.includes('envoy health check failed'));
    expect(failPosted, helperLogs).toBeDefined();
    const down = caller.find((e) => e.what.endsWith('DOWN'));
    expect(down, 'HAProxy marked A DOWN').toBeDefined();
    expect(failPosted!.at).toBeLessThan(down!.at);
    expect(down!.at).toBeLessThan(helper.exitedAt!);
    expect(helperLogs).toContain('"msg":"drain finished"');
    expect(helper.exitedAt!).toBeLessThanOrEqual(app.stopAt!);
    expect(app.exitedAt!).toBeLessThanOrEqual(envoy.stopAt!);
    // The definition's own waits ran: the fail went out after DRAIN_DELAY, not at once.
    expect(failPosted!.at - helper.stopAt!).toBeGreaterThanOrEqual(39_000);

    // Liveness: no essential container's health check failed once it was HEALTHY, draining included.
    for (const task of [a, b])
      for (const c of task.containers.values()) {
        expect(c.definition.essential, c.definition.name).toBe(true);
        const failed = [...c.checks.values()].filter((check) => check.start >= c.healthyAt! && check.exitCode !== 0);
        expect(failed, `${task.name}/${c.definition.name}`).toEqual([]);
        expect(c.health.map((h) => h.status)).not.toContain('unhealthy');
      }
    const checkedWhileDraining = (c: { checks: Map<string, { start: number }> }) =>
      [...c.checks.values()].filter((check) => check.start > failPosted!.at && check.start < helper.exitedAt!).length;
    expect(checkedWhileDraining(envoy), "Envoy's healthCheck ran while it was DRAINING").toBeGreaterThan(0);
    expect(checkedWhileDraining(helper), "the helper's healthCheck ran while Envoy was DRAINING").toBeGreaterThan(0);
  }, 300_000);
});
