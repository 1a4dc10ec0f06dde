import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { container, loadTaskDefinition, type TaskDefinition } from '../../examples/ecs/task-definition.ts';
import { docker, dockerMissing, removeLabelled, TEST_LABEL } from '../support/docker.ts';
import { buildImages, images } from '../support/docker-images.ts';
import {
  containerEvents,
  ECS_DEFAULT_STOP_TIMEOUT,
  type EcsTask,
  formatTimeline,
  helperEvents,
  startEcsTask,
} from '../support/ecs-task.ts';

// The zero-config sidecar: the task definition with the helper's stopTimeout left out (ECS then
// gives 30 s) and no STOP_TIMEOUT, in a task whose metadata cannot be read, so the helper cannot
// learn its budget. It must plan with ECS's 30 s: the fail is POSTed and the helper exits before
// the SIGKILL of `docker stop -t 30`. Planning with 120 s would put SIGKILL inside DRAIN_DELAY.
const missing = dockerMissing();
const run = `th-${randomUUID().slice(0, 8)}`;

const zeroConfig: TaskDefinition = structuredClone(loadTaskDefinition());
const helperDefinition = container(zeroConfig, 'task-helper');
delete helperDefinition.stopTimeout;
helperDefinition.environment = helperDefinition.environment?.filter((e) => e.name !== 'STOP_TIMEOUT');

/** The budget the built image plans with in exactly this container's environment, in ms. */
async function plannedBudgetMs(): Promise<number> {
  const env = [
    '-e',
    'ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/task-helper',
    ...(helperDefinition.environment ?? []).flatMap(({ name, value }) => ['-e', `${name}=${value}`]),
  ];
  const plan = await docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--label',
    TEST_LABEL,
    ...env,
    images.helper,
    'plan',
    '--json',
  ]);
  return (JSON.parse(plan.stdout) as { timeline: { stopTimeoutMs: number } }).timeline.stopTimeoutMs;
}

describe.skipIf(missing)("the zero-config helper in ECS: ECS's 30 s default stopTimeout", () => {
  let task: EcsTask | undefined;
  let budgetMs: number;

  beforeAll(async () => {
    await buildImages();
    budgetMs = await plannedBudgetMs();
  }, 900_000);
  afterAll(async () => {
    await task?.remove();
    await removeLabelled(`run=${run}`);
  }, 60_000);

  it('POSTs the fail and exits 0 before the SIGKILL of docker stop -t 30, none UNHEALTHY', async () => {
    // The image plans with ECS's 30 s when STOP_TIMEOUT is unset and the task definition cannot be read.
    expect(budgetMs).toBe(ECS_DEFAULT_STOP_TIMEOUT * 1000);
    task = await startEcsTask(zeroConfig, { name: 'zero', labels: { run }, pauseImage: 'debian:bookworm-slim' });
    const helper = task.containers.get('task-helper')!;
    const deadline = Date.now() + 60_000;
    while (!(await task.logs('task-helper')).includes('"msg":"ready"')) {
      if (Date.now() > deadline) throw new Error(`helper not ready:\n${await task.logs('task-helper')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await task.stop();

    const logs = await task.logs('task-helper');
    console.log(
      `Zero-config task stop (no stopTimeout, no STOP_TIMEOUT):\n${formatTimeline([...containerEvents(task), ...helperEvents(logs, 'zero')], helper.stopAt!)}`,
    );
    expect(helper.definition.stopTimeout).toBeUndefined();
    expect(helper.exitCode, logs).toBe(0);
    expect(helper.exitedAt! - helper.stopAt!).toBeLessThan(ECS_DEFAULT_STOP_TIMEOUT * 1000);
    const failPosted = helperEvents(logs, 'zero').find((e) => e.what.includes('envoy health check failed'));
    expect(failPosted, logs).toBeDefined();
    expect(failPosted!.at).toBeLessThan(helper.exitedAt!);
    // One warning naming the setting, the task definition field and the IAM action that would give the budget.
    const warnings = logs
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string })
      .filter((line) => line.level === 'warn' && /STOP_TIMEOUT/.test(line.msg) && /stopTimeout/.test(line.msg))
      .filter((line) => /ecs:DescribeTask/.test(line.msg));
    expect(warnings, 'one warning naming STOP_TIMEOUT, stopTimeout and the IAM action').toHaveLength(1);
    for (const c of task.containers.values()) {
      expect({ name: c.definition.name, exitCode: c.exitCode }).toEqual({ name: c.definition.name, exitCode: 0 });
      expect(c.health.map((h) => h.status)).not.toContain('unhealthy');
    }
  }, 300_000);
});
