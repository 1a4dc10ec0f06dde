import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAwsWorld, fixtureTask } from '../support/aws-resources.ts';
import { createEcsServiceWorld } from '../support/ecs-service.ts';
import { startMetadataServer, type MetadataServer } from '../support/ecs-metadata.ts';
import { spawnHelper } from '../support/helper-process.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startTask, type SimTask } from '../support/task.ts';

// The image's bundle (scripts/build.ts, built once per run by test/support/build-once.ts), copied
// far from node_modules: the SDK clients, which the bundle keeps in chunks of their own, load and
// work when a drain needs them.
const root = path.resolve(import.meta.dirname, '../..');
let bundle: string;
let moto: Moto;
let metadata: MetadataServer;
let task: SimTask;

beforeAll(async () => {
  bundle = mkdtempSync(path.join(tmpdir(), 'task-helper-bundle-'));
  cpSync(path.join(root, 'dist/task-helper'), bundle, { recursive: true });
  [moto, metadata, task] = await Promise.all([startMoto(), startMetadataServer(), startTask()]);
}, 60_000);
afterAll(async () => {
  await task?.close();
  await metadata?.close();
  await moto?.close();
  rmSync(bundle, { recursive: true, force: true });
});

it('the bundled CLI leaves Cloud Map and the target group, and asks ECS for its stopTimeout', async () => {
  const world = await createAwsWorld(moto);
  const helper = spawnHelper([path.join(bundle, 'node_modules/@task-helper/cli/dist/cli.mjs'), 'run'], {
    cwd: bundle,
    env: {
      ...task.env,
      ...moto.env,
      ECS_CONTAINER_METADATA_URI_V4: metadata.uri,
      DRAIN_DELAY: '0',
      DRAIN_TIMEOUT: '1',
      CLOUD_MAP_SERVICE_ID: world.serviceId,
      TARGET_GROUP_ARNS: world.targetGroupArn,
      TARGET_PORT: String(fixtureTask.port),
    },
  });
  // moto's ECS knows no such task: the answer shows the ECS client loaded and called.
  const warning = await helper.waitForLog((l) =>
    l.msg.startsWith("the helper container's stopTimeout could not be read"),
  );
  expect(warning.problem).toMatch(/^DescribeTasks failed: ClusterNotFoundException/);
  await helper.waitForLog('ready');
  helper.kill('SIGTERM');
  expect((await helper.exited).code).toBe(0);
  expect(await world.instances()).not.toContain(fixtureTask.taskId);
  expect(await world.targetState()).toBe('unused');
});

it('the bundled CLI ends DRAIN_DELAY once the replacements are in (DRAIN_DELAY_UNTIL=replacements), its clients loaded at the stop', async () => {
  await moto.reset();
  const world = await createEcsServiceWorld(moto, { desiredCount: 1 });
  const [self, other] = [await world.runTask(), await world.runTask()];
  await world.register(self!);
  await world.register(other!);
  const own = await world.metadataFor(self!);
  // A task of its own: the first test's Envoy has failed its health check for good.
  const fresh = await startTask();
  try {
    const helper = spawnHelper([path.join(bundle, 'node_modules/@task-helper/cli/dist/cli.mjs'), 'run'], {
      cwd: bundle,
      env: {
        ...fresh.env,
        ...moto.env,
        ECS_CONTAINER_METADATA_URI_V4: own.uri,
        STOP_TIMEOUT: '60',
        DRAIN_DELAY: '30',
        DRAIN_TIMEOUT: '0',
        CLOUD_MAP_SERVICE_ID: world.cloudMapServiceId,
        DRAIN_DELAY_UNTIL: 'replacements',
        DISCOVERY_PROPAGATION: '1',
      },
    });
    await helper.waitForLog('ready');
    helper.kill('SIGTERM');
    expect((await helper.exited).code).toBe(0);
    expect(helper.lines.find((l) => l.msg === 'drainDelay ended')).toMatchObject({ reason: 'replacements in service' });
  } finally {
    await fresh.close();
    await own.close();
    world.close();
  }
});
