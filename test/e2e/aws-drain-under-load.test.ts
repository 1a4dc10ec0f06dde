import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAwsWorld, fixtureTask } from '../support/aws-resources.ts';
import { describeScenario, runDrainScenario, type DrainScenarioOptions } from '../support/drain-scenario.ts';
import { startMetadataServer, type MetadataServer } from '../support/ecs-metadata.ts';
import { closeAllHaproxies, defaultHealthCheck, detectionLimitMs, haproxyMissing } from '../support/haproxy.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { closeAllEnvoys, realEnvoyMissing } from '../support/real-envoy.ts';
import { startTask } from '../support/task.ts';

// The drain-under-load scenario (drain-under-load.test.ts, real-envoy.test.ts) with both AWS
// plugins configured against moto: leaving Cloud Map and the target group beside
// /healthcheck/fail costs no request, on real Envoy 1.40 and on the simulator.
const DETECTION_MS = detectionLimitMs(defaultHealthCheck);
const missing = realEnvoyMissing();
const noHaproxy = haproxyMissing();
if (noHaproxy) console.warn(`skipping the AWS drain under load: ${noHaproxy}`);
else if (missing) console.warn(`skipping the AWS drain under load on real Envoy: ${missing}`);

let moto: Moto;
let metadata: MetadataServer;
beforeAll(async () => {
  moto = await startMoto();
  metadata = await startMetadataServer();
}, 30_000);
afterAll(async () => {
  await metadata?.close();
  await moto?.close();
});
afterEach(async () => {
  await closeAllHaproxies();
  await closeAllEnvoys();
});

const envoys: Array<[string, Pick<DrainScenarioOptions, 'startTask'>, boolean]> = [
  ['real Envoy 1.40', { startTask: () => startTask({ envoy: 'example' }) }, Boolean(missing || noHaproxy)],
  ['the Envoy simulator', {}, Boolean(noHaproxy)],
];

describe.each(envoys)('a drain with both AWS plugins under steady load behind HAProxy, on %s', (_, task, skip) => {
  it.skipIf(skip)('0 failed requests, the task out of Cloud Map and the target group, exit 0', async () => {
    await moto.reset();
    const world = await createAwsWorld(moto);
    const result = await runDrainScenario({
      ...task,
      helperEnv: {
        ...moto.env,
        ECS_CONTAINER_METADATA_URI_V4: metadata.uri,
        STOP_TIMEOUT: '120',
        CLOUD_MAP_SERVICE_ID: world.serviceId,
        TARGET_GROUP_ARNS: world.targetGroupArn,
        TARGET_PORT: String(fixtureTask.port),
        DRAIN_DELAY: '0.5',
        DRAIN_TIMEOUT: String((2.5 * DETECTION_MS) / 1000),
      },
    });
    const why = describeScenario(result);

    expect(result.failures, why).toHaveLength(0);
    expect(result.exit?.code, why).toBe(0);
    expect(result.healthcheckFailAt! - result.sigtermAt, why).toBeGreaterThanOrEqual(500);
    expect(result.healthcheckFailAt! - result.sigtermAt, why).toBeLessThan(500 + 1_000);
    const steps = result.helper!.lines.find((l) => l.msg === 'drain finished')!.steps as Array<{
      plugin: string;
      hook: string;
      outcome: string;
    }>;
    expect(
      steps
        .filter((s) => s.hook === 'drain')
        .map((s) => `${s.plugin} ${s.outcome}`)
        .sort(),
      why,
    ).toEqual(['cloud-map ok', 'delay ok', 'envoy ok', 'target-groups ok']);
    expect(await world.instances()).not.toContain(fixtureTask.taskId);
    expect(await world.targetState()).toBe('unused');
  });
});
