import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsWorld, createRestrictedUser, fixtureTask, type AwsWorld } from '../support/aws-resources.ts';
import { startMetadataServer, type MetadataServer } from '../support/ecs-metadata.ts';
import { startThrottlingProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { freePort } from '../support/free-port.ts';
import { startHelper } from '../support/helper-process.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { startTask, type SimTask } from '../support/task.ts';
import { tempDir } from '../support/temp-config.ts';

// The real CLI, a real SIGTERM, the Envoy simulator as admin API, moto's server as AWS, and the
// task metadata endpoint serving AWS's documented example. Generous bounds for a busy machine.
const SLACK_MS = 1_000;

let moto: Moto;
let metadata: MetadataServer;
let task: SimTask;
let world: AwsWorld;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  moto = await startMoto();
  metadata = await startMetadataServer();
}, 30_000);
afterAll(async () => {
  await metadata?.close();
  await moto?.close();
});
beforeEach(async () => {
  await moto.reset();
  world = await createAwsWorld(moto);
  task = await startTask();
});
afterEach(async () => {
  await moto.enforceIam(Infinity);
  await proxy?.close();
  proxy = undefined;
  await task?.close();
});

type StepLine = { plugin: string; hook: string; outcome: string; error?: string; ms: number };

/** SIGTERM with DRAIN_DELAY=0 DRAIN_TIMEOUT=1; what the helper logged and when Envoy's admin API saw /healthcheck/fail. */
async function drain(env: Record<string, string>, args: string[] = ['run']) {
  const helper = startHelper(args, {
    // STOP_TIMEOUT set, as in the example task definition: the stop budget is not what these tests are about (stop-timeout.test.ts).
    env: {
      ...task.env,
      ...moto.env,
      ECS_CONTAINER_METADATA_URI_V4: metadata.uri,
      STOP_TIMEOUT: '120',
      DRAIN_DELAY: '0',
      DRAIN_TIMEOUT: '1',
      ...env,
    },
  });
  await helper.waitForLog('ready');
  const sigtermAt = helper.kill('SIGTERM');
  const { code } = await helper.exited;
  const fail = task.envoy.calls.find((c) => c.path === '/healthcheck/fail');
  const steps = (helper.lines.find((l) => l.msg === 'drain finished')?.steps ?? []) as StepLine[];
  return {
    code,
    helper,
    steps,
    sigtermAt,
    failAt: fail?.at,
    step: (plugin: string) => steps.find((s) => s.plugin === plugin && s.hook === 'drain'),
  };
}

const configured = () => ({
  CLOUD_MAP_SERVICE_ID: world.serviceId,
  TARGET_GROUP_ARNS: world.targetGroupArn,
  TARGET_PORT: String(fixtureTask.port),
});

describe('a drain with both AWS plugins, against moto', () => {
  it('takes the task out of the Cloud Map service and the target group, beside /healthcheck/fail, and exits 0', async () => {
    expect(await world.instances()).toContain(fixtureTask.taskId);
    expect(await world.targetState()).toBe('healthy');

    const { code, helper, step, sigtermAt, failAt } = await drain(configured());

    expect(code).toBe(0);
    expect(await world.instances()).toEqual(['0f1e2d3c4b5a69788796a5b4c3d2e1f0']);
    expect(await world.targetState()).toBe('unused');
    expect(step('cloud-map')).toMatchObject({ outcome: 'ok' });
    expect(step('target-groups')).toMatchObject({ outcome: 'ok' });
    expect(failAt! - sigtermAt).toBeLessThan(SLACK_MS);
    // Beside, not before: the AWS calls start once Envoy's health check has failed.
    const at = (msg: string) => helper.lines.findIndex((l) => l.msg === msg);
    expect(at('envoy health check failed: callers will stop routing here')).toBeLessThan(
      at('cloud map instance deregistered: discovery stops returning it'),
    );
    expect(
      helper.lines.find((l) => l.msg === 'target deregistered: the load balancer sends it no new request'),
    ).toMatchObject({
      plugin: 'target-groups',
      targetGroupArn: world.targetGroupArn,
      target: `${fixtureTask.ip}:${fixtureTask.port}`,
      state: 'unused',
      // Read before DeregisterTargets: the target was still in service, so nothing had taken it out first.
      found: 'healthy',
      outBeforeDrain: false,
      sinceSignalMs: expect.any(Number),
    });
    // …and never in front of DRAIN_TIMEOUT: its wait starts as soon as the POST is out.
    const drainTimeoutStarted = helper.lines.find((l) => l.msg === 'drainTimeout started')!;
    expect(drainTimeoutStarted.at - failAt!).toBeLessThan(SLACK_MS);
    // The task's identity, from the metadata endpoint, is on every line after start.
    for (const line of helper.lines)
      expect(line).toMatchObject({ taskArn: metadata.task.TaskARN, cluster: metadata.task.Cluster });
  });

  it('from a config file naming the plugins: marks the instance unhealthy where the service has a custom health check', async () => {
    await moto.reset();
    world = await createAwsWorld(moto, { customHealth: true });
    const dir = tempDir({
      'task-helper.config.json': {
        plugins: [
          '@task-helper/plugin-delay',
          '@task-helper/plugin-envoy',
          ['@task-helper/plugin-aws/cloud-map', { serviceId: world.serviceId }],
        ],
      },
    });
    const { code, step } = await drain({}, ['run', '--config', `${dir}/task-helper.config.json`]);
    expect(code).toBe(0);
    expect(step('cloud-map')).toMatchObject({ outcome: 'ok' });
    expect(await world.health()).toBe('UNHEALTHY');
    expect(await world.instances()).toContain(fixtureTask.taskId);
  });

  it('counts an instance and a target ECS already deregistered as done, with a note, and does not deregister again', async () => {
    const { DeregisterInstanceCommand } = await import('@aws-sdk/client-servicediscovery');
    const { DeregisterTargetsCommand } = await import('@aws-sdk/client-elastic-load-balancing-v2');
    await world.cloudMap.send(
      new DeregisterInstanceCommand({ ServiceId: world.serviceId, InstanceId: fixtureTask.taskId }),
    );
    await world.elb.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: world.targetGroupArn,
        Targets: [{ Id: fixtureTask.ip, Port: fixtureTask.port }],
      }),
    );
    const { code, helper, step } = await drain(configured());
    expect(code).toBe(0);
    expect(step('cloud-map')).toMatchObject({ outcome: 'ok' });
    // moto answers DeregisterTargets for a target outside the group with InvalidTarget: `ok` shows it was not called.
    expect(step('target-groups')).toMatchObject({ outcome: 'ok' });
    expect(helper.lines.find((l) => l.msg === 'cloud map instance already gone')?.note).toMatch(/already deregistered/);
    expect(
      helper.lines.find((l) => l.msg === 'target deregistered: the load balancer sends it no new request'),
    ).toMatchObject({
      state: 'unused',
      found: 'unused',
      foundReason: 'Target.NotRegistered',
      outBeforeDrain: true,
      note: expect.stringMatching(/^was not registered when the drain started: ECS deregisters a service task/),
    });
  });

  it('tells a target that was never registered (a wrong TARGET_IP) from one still in service, and ends without waiting for it', async () => {
    // moto reports a target outside the group as `unavailable` (AWS: `unused`), both with reason Target.NotRegistered.
    const { code, helper, step } = await drain({ ...configured(), TARGET_IP: '10.0.9.9' });
    expect(code).toBe(0);
    expect(step('target-groups')).toMatchObject({ outcome: 'ok' });
    expect(
      helper.lines.find((l) => l.msg === 'target deregistered: the load balancer sends it no new request'),
    ).toMatchObject({
      target: `10.0.9.9:${fixtureTask.port}`,
      foundReason: 'Target.NotRegistered',
      outBeforeDrain: true,
      note: expect.stringMatching(/check TARGET_IP and TARGET_PORT/),
    });
    expect(await world.targetState()).toBe('healthy');
  });
});

describe('AWS faults: a clear failed step, exit 1, and /healthcheck/fail still on time', () => {
  it('the API unreachable (nothing listens on the endpoint)', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { code, step, sigtermAt, failAt, helper } = await drain({ ...configured(), AWS_ENDPOINT_URL: closed });
    expect(code).toBe(1);
    expect(failAt! - sigtermAt).toBeLessThan(SLACK_MS);
    expect(step('cloud-map')?.error).toMatch(
      /^GetService failed: ECONNREFUSED: .*; fix: the task cannot reach servicediscovery\.us-west-2\.amazonaws\.com: give its subnets a route \(NAT gateway or a VPC endpoint for servicediscovery\), or fix AWS_ENDPOINT_URL$/,
    );
    expect(step('target-groups')?.error).toMatch(/^DeregisterTargets failed: ECONNREFUSED: .*elasticloadbalancing/);
    expect(
      helper.lines
        .filter((l) => l.msg === 'step failed')
        .map((l) => l.plugin)
        .sort(),
    ).toEqual(['cloud-map', 'target-groups']);
    expect(step('envoy')).toMatchObject({ outcome: 'ok' });
    expect(await world.instances()).toContain(fixtureTask.taskId);
  });

  it('access denied (moto enforcing IAM; the task role lacks the permissions)', async () => {
    const credentials = await createRestrictedUser(moto, ['servicediscovery:GetService']);
    await moto.enforceIam(0);
    const { code, step, sigtermAt, failAt } = await drain({
      ...configured(),
      ...credentials,
      CLOUD_MAP_ACTION: 'deregister',
    });
    expect(code).toBe(1);
    expect(failAt! - sigtermAt).toBeLessThan(SLACK_MS);
    // moto answers a JSON API's IAM denial in XML, which the SDK cannot read: the helper goes by the 403.
    expect(step('cloud-map')?.error).toMatch(
      /^DeregisterInstance failed: (AccessDenied\w*: .*|HTTP 403, with an unreadable error body); fix: allow servicediscovery:DeregisterInstance on arn:aws:servicediscovery:us-west-2:111122223333:service\/srv-\w+ in the task role \(taskRoleArn\)$/,
    );
    expect(step('target-groups')?.error).toMatch(
      /^DeregisterTargets failed: AccessDenied\w*: .*; fix: allow elasticloadbalancing:DeregisterTargets on arn:aws:elasticloadbalancing:.*targetgroup\/orders\/\w+ in the task role/,
    );
    await moto.enforceIam(Infinity);
    expect(await world.instances()).toContain(fixtureTask.taskId);
  });

  it('throttled (every DeregisterInstance answered ThrottlingException, retried by the SDK)', async () => {
    proxy = await startThrottlingProxy(moto.url, ['DeregisterInstance']);
    const { code, step, sigtermAt, failAt } = await drain({
      CLOUD_MAP_SERVICE_ID: world.serviceId,
      CLOUD_MAP_ACTION: 'deregister',
      AWS_ENDPOINT_URL: proxy.url,
    });
    expect(code).toBe(1);
    expect(failAt! - sigtermAt).toBeLessThan(SLACK_MS);
    expect(proxy.actions.filter((a) => a === 'DeregisterInstance')).toHaveLength(3);
    expect(step('cloud-map')?.error).toMatch(
      /^DeregisterInstance failed: ThrottlingException: Rate exceeded; fix: AWS throttled the call 3 times, retries included; /,
    );
  });
});
