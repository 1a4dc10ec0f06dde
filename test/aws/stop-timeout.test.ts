import {
  CreateClusterCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRestrictedUser, motoQuery } from '../support/aws-resources.ts';
import { startMetadataServer, type MetadataServer } from '../support/ecs-metadata.ts';
import { runHelper, startHelper } from '../support/helper-process.ts';
import { MOTO_REGION, startMoto, type Moto } from '../support/moto.ts';
import { startTask, type SimTask } from '../support/task.ts';
import { tempDir } from '../support/temp-config.ts';

// `task-helper plan` in a task that moto's ECS runs: the metadata endpoint names the task, the
// helper asks ecs:DescribeTasks and ecs:DescribeTaskDefinition for its container's stopTimeout.
let moto: Moto;
let metadata: MetadataServer | undefined;
let stack: SimTask | undefined;
beforeAll(async () => void (moto = await startMoto()), 30_000);
afterAll(() => moto?.close());
beforeEach(() => moto.reset());
afterEach(async () => {
  await moto.enforceIam(Infinity);
  await metadata?.close();
  metadata = undefined;
  await stack?.close();
  stack = undefined;
});

/** Runs the task in moto (EC2) with the helper container's stopTimeout as given, and serves its metadata. */
async function runTask(stopTimeout: number | undefined): Promise<MetadataServer> {
  const ecs = new ECSClient({
    region: MOTO_REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const { cluster } = await ecs.send(new CreateClusterCommand({ clusterName: 'default' }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      // EC2 in bridge mode: moto 5.2.5's RunTask fails on awsvpc tasks (its network interfaces lack
      // private_dns_name), and Fargate tasks are always awsvpc. The helper reads only the task
      // definition's ARN and the launch type from DescribeTasks, which this gives as well.
      family: 'orders',
      networkMode: 'bridge',
      requiresCompatibilities: ['EC2'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        {
          name: 'task-helper',
          image: 'task-helper:latest',
          memory: 128,
          ...(stopTimeout === undefined ? {} : { stopTimeout }),
        },
        { name: 'envoy', image: 'envoyproxy/envoy:v1.40.0', memory: 256, stopTimeout: 120 },
      ],
    }),
  );
  // A container instance for the EC2 task: an EC2 instance from one of moto's own AMIs.
  const instanceId = /<instanceId>(i-\w+)</.exec(
    await motoQuery(moto, 'ec2', {
      Action: 'RunInstances',
      ImageId: 'ami-12c6146b',
      MinCount: '1',
      MaxCount: '1',
      Version: '2016-11-15',
    }),
  )![1]!;
  await ecs.send(
    new RegisterContainerInstanceCommand({
      cluster: 'default',
      instanceIdentityDocument: JSON.stringify({ instanceId }),
    }),
  );
  const { tasks } = await ecs.send(
    new RunTaskCommand({ cluster: 'default', taskDefinition: 'orders', launchType: 'EC2' }),
  );
  ecs.destroy();
  return startMetadataServer({ TaskARN: tasks![0]!.taskArn!, Cluster: cluster!.clusterArn! });
}

async function plan(env: Record<string, string>) {
  return runHelper(['plan'], {
    env: { ...moto.env, ECS_CONTAINER_METADATA_URI_V4: metadata!.uri, ...env },
    cwd: tempDir({}),
  });
}

describe('the stop budget from the task definition, when STOP_TIMEOUT is not set', () => {
  it("plans with the helper container's stopTimeout", async () => {
    metadata = await runTask(60);
    const { code, stdout, stderr } = await plan({});
    expect(code).toBe(0);
    expect(stdout).toMatch(/STOP_TIMEOUT +60 +ecs +core/);
    // plugin-delay checks its waits against the budget ECS really gives, at start.
    expect(stderr).toContain(
      '"msg":"DRAIN_DELAY 40 s + DRAIN_TIMEOUT 40 s + 5 s kept for afterDrain do not fit STOP_TIMEOUT 60 s: DRAIN_DELAY will be cut to 27.5 s and DRAIN_TIMEOUT to 27.5 s',
    );
    expect(stdout).toContain('Stop sequence, to scale: STOP_TIMEOUT 60 s');
    expect(stdout).toContain('does not fit: the waits would end at 80 s, but the stop budget ends them at 55 s');
  });

  it('a stopTimeout under 5 s, too short to POST and exit, is refused at start: one line, exit 78', async () => {
    metadata = await runTask(2);
    const { code, stdout, stderr } = await plan({});
    expect(code).toBe(78);
    expect(stdout).toBe('');
    expect(
      stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).msg),
    ).toContainEqual(
      expect.stringMatching(
        /^the helper container's stopTimeout in \S+ is 2 s, too short to POST \/healthcheck\/fail and exit: raise it to at least 5 s in the task definition$/,
      ),
    );
  });

  it("a container without stopTimeout on EC2: the agent's default (30 s) applies, and run says so", async () => {
    metadata = await runTask(undefined);
    const { stdout } = await plan({});
    expect(stdout).toMatch(/STOP_TIMEOUT +30 +ecs +core/);
    const helper = startHelper(['run'], {
      env: { ...moto.env, ECS_CONTAINER_METADATA_URI_V4: metadata.uri, ENVOY_WAIT_READY: 'false', APP_CHECK: 'false' },
    });
    const line = await helper.waitForLog('stop timeout read from the task definition');
    expect(line).toMatchObject({
      stopTimeout: 30,
      taskDefinition: 'orders:1',
      note: "task-helper sets no stopTimeout: the ECS agent's ECS_CONTAINER_STOP_TIMEOUT applies (30 s unless the instance sets another); set STOP_TIMEOUT if it does",
    });
    helper.kill('SIGKILL');
  });

  it('an explicit STOP_TIMEOUT wins', async () => {
    metadata = await runTask(60);
    const { stdout, stderr } = await plan({ STOP_TIMEOUT: '90' });
    expect(stdout).toMatch(/STOP_TIMEOUT +90 +env +core/);
    expect(stderr).toBe('');
  });

  it("without ecs:DescribeTasks: one warning naming the permission, the container's stopTimeout and STOP_TIMEOUT, and ECS's default, 30 s", async () => {
    metadata = await runTask(60);
    const credentials = await createRestrictedUser(moto, ['servicediscovery:GetService']);
    await moto.enforceIam(0);
    const { code, stdout, stderr } = await plan(credentials);
    expect(code).toBe(0);
    expect(stdout).toMatch(/STOP_TIMEOUT +30 +default +core/);
    const warnings = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string; problem: string });
    // plugin-delay's warning that the default waits do not fit 30 s is logged at start too.
    const lookup = warnings.filter((w) => w.msg.startsWith("the helper container's stopTimeout"));
    expect(lookup).toHaveLength(1);
    expect(lookup[0]).toMatchObject({
      level: 'warn',
      stopTimeout: 30,
      msg: `the helper container's stopTimeout could not be read from the task definition: planning with ECS's default, 30 s; set STOP_TIMEOUT to the stopTimeout of container "task-helper" in the task definition, or allow ecs:DescribeTasks and ecs:DescribeTaskDefinition in the task role`,
    });
    expect(lookup[0]!.problem).toMatch(
      /^DescribeTasks failed: (AccessDenied\w*: .*|HTTP 403, with an unreadable error body); fix: allow ecs:DescribeTasks on /,
    );
  });

  it('zero-config in ECS without the permission: the fail is POSTed and the helper exits before the 30 s SIGKILL', async () => {
    metadata = await runTask(undefined);
    const credentials = await createRestrictedUser(moto, ['servicediscovery:GetService']);
    await moto.enforceIam(0);
    stack = await startTask();
    // The default sidecar as ECS runs it: no STOP_TIMEOUT, DRAIN_DELAY and DRAIN_TIMEOUT at their 40 s.
    const helper = startHelper(['run'], {
      env: { ...stack.env, ...moto.env, ...credentials, ECS_CONTAINER_METADATA_URI_V4: metadata.uri },
    });
    await helper.waitForLog('ready');
    const sigtermAt = helper.kill('SIGTERM');
    const exited = await helper.exited;
    expect(helper.lines.find((l) => l.msg === 'stop signal received')).toMatchObject({ stopTimeout: 30 });
    const fail = stack.envoy.calls.find((c) => c.method === 'POST' && c.path === '/healthcheck/fail');
    expect(fail).toMatchObject({ status: 200 });
    expect(exited.code).toBe(0);
    expect(exited.at - sigtermAt).toBeLessThan(30_000);
  }, 60_000);
});
