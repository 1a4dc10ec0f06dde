import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRestrictedUser } from '../support/aws-resources.ts';
import type { MetadataServer } from '../support/ecs-metadata.ts';
import { createEcsServiceWorld, type EcsServiceWorld, type ServiceTask } from '../support/ecs-service.ts';
import { startThrottlingProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { freePort } from '../support/free-port.ts';
import { startHelper, type HelperProcess } from '../support/helper-process.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startTask, type SimTask } from '../support/task.ts';

// DRAIN_DELAY_UNTIL=replacements with the real CLI, a real SIGTERM, the Envoy simulator (it
// records when /healthcheck/fail arrives) and moto's ECS and Cloud Map. The test plays ECS: it
// starts the replacement tasks in the service's PRIMARY deployment and registers them in Cloud Map.
// DISCOVERY_PROPAGATION is 2 s, so each case takes seconds, not the 40 s of the fixed delay.
const PROPAGATION_S = 2;
/** The bound: the fail goes out within DISCOVERY_PROPAGATION + 3 s of the replacements being healthy. */
const WITHIN_MS = PROPAGATION_S * 1000 + 3_000;

let moto: Moto;
let sim: SimTask;
let world: EcsServiceWorld;
let metadata: MetadataServer | undefined;
let proxy: FaultProxy | undefined;

beforeAll(async () => void (moto = await startMoto()), 30_000);
afterAll(() => moto?.close());
beforeEach(async () => {
  await moto.reset();
  sim = await startTask();
});
afterEach(async () => {
  await moto.enforceIam(Infinity);
  world?.close();
  await metadata?.close();
  metadata = undefined;
  await proxy?.close();
  proxy = undefined;
  await sim?.close();
});

/** The helper in `self`'s task, ready, then sent SIGTERM; `env` overrides (`''`: unset). `stopped()` waits for the exit. */
async function helperIn(self: ServiceTask, env: Record<string, string> = {}) {
  metadata = await world.metadataFor(self);
  const all: Record<string, string> = {
    ...sim.env,
    ...moto.env,
    ECS_CONTAINER_METADATA_URI_V4: metadata.uri,
    STOP_TIMEOUT: '120',
    CLOUD_MAP_SERVICE_ID: world.cloudMapServiceId,
    DRAIN_DELAY_UNTIL: 'replacements',
    DISCOVERY_PROPAGATION: String(PROPAGATION_S),
    DRAIN_DELAY: '30',
    DRAIN_TIMEOUT: '0',
    ...env,
  };
  const helper = startHelper(['run'], { env: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== '')) });
  await helper.waitForLog('ready');
  const sigtermAt = helper.kill('SIGTERM');
  return { helper, sigtermAt, stopped: () => finish(helper, sigtermAt) };
}

async function finish(helper: HelperProcess, sigtermAt: number) {
  const { code } = await helper.exited;
  const failAt = sim.healthcheckFailAt();
  const line = (msg: string) => helper.lines.find((l) => l.msg === msg);
  return {
    code,
    failAt,
    failAfterMs: failAt === undefined ? undefined : failAt - sigtermAt,
    delayEnded: line('drainDelay ended'),
    inService: line('replacements in service: DRAIN_DELAY ends'),
    watchOver: line('replacements watch over: DRAIN_DELAY ran out first'),
    progress: helper.lines.filter((l) => l.msg === 'waiting for replacements'),
    /** Warnings and errors of the stop's first hook: the early path's, whatever it says. */
    beforeDrainProblems: helper.lines.filter(
      (l) => l.hook === 'beforeDrain' && (l.level === 'warn' || l.level === 'error'),
    ),
  };
}

/** Starts `count` tasks of the PRIMARY deployment and registers them in Cloud Map; the times around it. */
async function replacementsComeUp(count: number) {
  const tasks = await Promise.all(Array.from({ length: count }, () => world.runTask()));
  const before = Date.now();
  for (const task of tasks) await world.register(task);
  return { before, after: Date.now() };
}

describe('DRAIN_DELAY_UNTIL=replacements, against moto', () => {
  it('rolling update: the fail goes out within DISCOVERY_PROPAGATION + 3 s of the new tasks being healthy, never before', async () => {
    world = await createEcsServiceWorld(moto, { desiredCount: 2 });
    const old = await world.primary();
    const self = await world.runTask(old);
    const other = await world.runTask(old);
    await world.register(self);
    await world.register(other);
    await world.newDeployment();

    const { helper, stopped } = await helperIn(self);
    // ECS would start the new tasks first; here they come up after the signal, so the helper must wait.
    await helper.waitForLog((l) => l.msg === 'waiting for replacements' && l.open === 'replacements');
    const up = await replacementsComeUp(2);
    const result = await stopped();

    expect(result.code).toBe(0);
    expect(result.failAt! - up.before).toBeGreaterThanOrEqual(PROPAGATION_S * 1000);
    expect(result.failAt! - up.after).toBeLessThanOrEqual(WITHIN_MS);
    expect(result.delayEnded).toMatchObject({ reason: 'replacements in service' });
    expect(result.inService).toMatchObject({
      plugin: 'cloud-map',
      service: 'orders',
      replacements: 2,
      required: 2,
      discoveryPropagation: PROPAGATION_S,
      propagationSource: 'setting',
      awsCalls: expect.any(Number),
    });
    // The old task beside this one was healthy all along, and never counted.
    expect(result.progress[0]).toMatchObject({ replacements: 0, healthyOthers: 1, open: 'replacements' });
    expect(result.progress.at(-1)).toMatchObject({ replacements: 2, open: 'propagation' });
    expect(result.beforeDrainProblems).toEqual([]);
  });

  it('scale-in: the others are enough already, so the delay is the propagation time', async () => {
    world = await createEcsServiceWorld(moto, { desiredCount: 2 });
    const tasks = [await world.runTask(), await world.runTask(), await world.runTask()];
    for (const task of tasks) await world.register(task);
    const { stopped } = await helperIn(tasks[0]!);
    const result = await stopped();
    expect(result.code).toBe(0);
    expect(result.failAfterMs).toBeGreaterThanOrEqual(PROPAGATION_S * 1000);
    expect(result.failAfterMs).toBeLessThanOrEqual(WITHIN_MS);
    expect(result.inService).toMatchObject({ replacements: 2, required: 2 });
  });

  it('a replaced task waits for its late replacement; an unhealthy one does not count', async () => {
    world = await createEcsServiceWorld(moto, { desiredCount: 2 });
    const [self, other, sick] = [await world.runTask(), await world.runTask(), await world.runTask()];
    for (const task of [self!, other!, sick!]) await world.register(task);
    await world.setHealth(sick!, 'UNHEALTHY');
    const { helper, stopped } = await helperIn(self!);
    await helper.waitForLog((l) => l.msg === 'waiting for replacements' && l.open === 'replacements');
    // Longer than the propagation time: a delay that did not wait would be over by now.
    await helper.waitForLog(
      (l) => l.msg === 'waiting for replacements' && typeof l.sinceSignalMs === 'number' && l.sinceSignalMs > 4_000,
    );
    expect(sim.healthcheckFailAt()).toBeUndefined();
    const up = await replacementsComeUp(1);
    const result = await stopped();
    expect(result.failAt! - up.before).toBeGreaterThanOrEqual(PROPAGATION_S * 1000);
    expect(result.failAt! - up.after).toBeLessThanOrEqual(WITHIN_MS);
    expect(result.inService).toMatchObject({ replacements: 2, required: 2 });
  });

  it('REPLACEMENTS_MIN, and the DNS TTL as the propagation time', async () => {
    world = await createEcsServiceWorld(moto, { desiredCount: 3, dnsTtl: 3 });
    const [self, other] = [await world.runTask(), await world.runTask()];
    await world.register(self!);
    await world.register(other!);
    const { stopped } = await helperIn(self!, { REPLACEMENTS_MIN: '1', DISCOVERY_PROPAGATION: '' });
    const result = await stopped();
    expect(result.failAfterMs).toBeGreaterThanOrEqual(3_000);
    expect(result.failAfterMs).toBeLessThanOrEqual(3_000 + 3_000);
    expect(result.inService).toMatchObject({
      replacements: 1,
      required: 1,
      discoveryPropagation: 3,
      propagationSource: 'dns ttl',
    });
  });

  it('no replacement: DRAIN_DELAY runs in full, with progress lines saying what is missing', async () => {
    world = await createEcsServiceWorld(moto, { desiredCount: 2 });
    const [self, other] = [await world.runTask(), await world.runTask()];
    await world.register(self!);
    await world.register(other!);
    const { stopped } = await helperIn(self!, { DRAIN_DELAY: '6' });
    const result = await stopped();
    expect(result.code).toBe(0);
    expect(result.failAfterMs).toBeGreaterThanOrEqual(6_000);
    expect(result.delayEnded).toMatchObject({ reason: 'timeout' });
    expect(result.inService).toBeUndefined();
    expect(result.watchOver).toMatchObject({
      replacements: 1,
      required: 2,
      open: 'replacements',
      awsCalls: expect.any(Number),
    });
    expect(result.progress.length).toBeGreaterThanOrEqual(2);
    for (const line of result.progress)
      expect(line).toMatchObject({
        replacements: 1,
        required: 2,
        open: 'replacements',
        propagated: expect.any(Number),
      });
    expect(result.beforeDrainProblems).toEqual([]);
  });
});

describe('every AWS failure: one line naming the API and the IAM action, and the full DRAIN_DELAY', () => {
  async function readyWorld() {
    world = await createEcsServiceWorld(moto, { desiredCount: 1 });
    const [self, other] = [await world.runTask(), await world.runTask()];
    await world.register(self!);
    await world.register(other!);
    // Without the failure the delay would end after the 2 s propagation time.
    return self!;
  }

  it('access denied (moto enforcing IAM for a task role without DiscoverInstances)', async () => {
    const self = await readyWorld();
    const credentials = await createRestrictedUser(moto, [
      'ecs:DescribeTasks',
      'ecs:DescribeServices',
      'servicediscovery:GetService',
      'servicediscovery:GetNamespace',
      'servicediscovery:DeregisterInstance',
      'servicediscovery:UpdateInstanceCustomHealthStatus',
      'servicediscovery:GetOperation',
    ]);
    await moto.enforceIam(0);
    const { stopped } = await helperIn(self, { ...credentials, DRAIN_DELAY: '5' });
    const result = await stopped();
    expect(result.failAfterMs).toBeGreaterThanOrEqual(5_000);
    expect(result.delayEnded).toMatchObject({ reason: 'timeout' });
    expect(result.beforeDrainProblems).toHaveLength(1);
    expect(result.beforeDrainProblems[0]).toMatchObject({
      msg: 'replacements not watched: DRAIN_DELAY runs in full',
      error: expect.stringMatching(
        /^DiscoverInstances failed: .*fix: allow servicediscovery:DiscoverInstances on \* in the task role/,
      ),
    });
  });

  it('throttled (every DiscoverInstances answered ThrottlingException, retried by the SDK)', async () => {
    const self = await readyWorld();
    proxy = await startThrottlingProxy(moto.url, ['DiscoverInstances']);
    const { stopped } = await helperIn(self, { AWS_ENDPOINT_URL: proxy.url, DRAIN_DELAY: '8' });
    const result = await stopped();
    expect(result.failAfterMs).toBeGreaterThanOrEqual(8_000);
    expect(result.delayEnded).toMatchObject({ reason: 'timeout' });
    expect(result.beforeDrainProblems).toHaveLength(1);
    expect(result.beforeDrainProblems[0]).toMatchObject({
      msg: 'replacements not watched: DRAIN_DELAY runs in full',
      error: expect.stringMatching(
        /^DiscoverInstances failed: ThrottlingException: Rate exceeded; fix: AWS throttled the call/,
      ),
    });
    // The early path ended at the failure: no reads after it.
    expect(proxy.actions.filter((a) => a === 'DiscoverInstances').length).toBeLessThanOrEqual(3);
  });

  it('unreachable (AWS_ENDPOINT_URL on a closed port)', async () => {
    const self = await readyWorld();
    const { stopped } = await helperIn(self, {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}`,
      DRAIN_DELAY: '5',
    });
    const result = await stopped();
    expect(result.failAfterMs).toBeGreaterThanOrEqual(5_000);
    expect(result.beforeDrainProblems).toHaveLength(1);
    expect(result.beforeDrainProblems[0]).toMatchObject({
      msg: 'replacements not watched: DRAIN_DELAY runs in full',
      error: expect.stringMatching(
        /failed: ECONNREFUSED.*fix: the task cannot reach (ecs|servicediscovery)\.us-west-2\.amazonaws\.com/,
      ),
    });
  });
});
