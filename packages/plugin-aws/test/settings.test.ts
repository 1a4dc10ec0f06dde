// The plugins' settings and taps, in-process; the AWS calls themselves are tested against moto (test/aws).
import { ConfigError, Stage, type TaskMetadata } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import { describe, expect, it } from 'vitest';
import { cloudMap, targetGroups } from '../src/index.ts';

const task: TaskMetadata = {
  taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef',
  taskId: '0123456789abcdef',
  cluster: 'prod',
  taskDefinition: 'orders:7',
  containerName: 'task-helper',
  privateIpv4: '10.0.1.17',
  region: 'eu-west-1',
  accountId: '123456789012',
  launchType: 'FARGATE',
};
const ARN = 'arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/orders/0123456789abcdef';

const drainTaps = (runner: ReturnType<typeof createTestRunner>['runner']) =>
  runner.hooks.drain.taps.map((tap) => ({
    name: tap.name,
    stage: tap.stage,
    beside: (tap as { beside?: boolean }).beside,
  }));
const recordOf = (runner: ReturnType<typeof createTestRunner>['runner'], plugin: string, env: string) =>
  runner.settings.find((s) => s.plugin === plugin && s.env === env);

describe('plugin-aws settings', () => {
  it('unconfigured: no tap, so the default sidecar never loads an SDK client', () => {
    const { runner } = createTestRunner({ plugins: [cloudMap(), targetGroups()], task });
    expect(drainTaps(runner)).toEqual([]);
  });

  it('in ECS: the instance id, target IP and region default to the task, and both tap the drain beside it at DRAIN_DEREGISTER', () => {
    const { runner } = createTestRunner({
      plugins: [cloudMap({ serviceId: 'srv-abc' }), targetGroups({ targetGroupArns: [ARN], port: 8080 })],
      task,
    });
    expect(drainTaps(runner)).toEqual([
      { name: 'cloud-map', stage: Stage.DRAIN_DEREGISTER, beside: true },
      { name: 'target-groups', stage: Stage.DRAIN_DEREGISTER, beside: true },
    ]);
    expect(recordOf(runner, 'cloud-map', 'CLOUD_MAP_INSTANCE_ID')).toMatchObject({
      value: task.taskId,
      source: 'default',
    });
    expect(recordOf(runner, 'target-groups', 'TARGET_IP')).toMatchObject({
      value: task.privateIpv4,
      source: 'default',
    });
    expect(recordOf(runner, 'target-groups', 'AWS_REGION')).toMatchObject({ value: 'eu-west-1', source: 'default' });
  });

  it('DRAIN_DELAY_UNTIL=replacements taps beforeDrain after the app check and before DRAIN_DELAY, and plans its rule, sources and IAM actions', () => {
    const env = { DRAIN_DELAY_UNTIL: 'replacements', ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' };
    const { runner } = createTestRunner({ plugins: [cloudMap({ serviceId: 'srv-abc' })], task, env });
    const taps = runner.hooks.beforeDrain.taps as Array<{
      name: string;
      stage?: number;
      plan?: { details?: string[] };
    }>;
    expect(taps.map((t) => [t.name, t.stage])).toEqual([['cloud-map', Stage.BEFORE_DRAIN_PREPARE]]);
    expect(Stage.BEFORE_DRAIN_DECIDE).toBeLessThan(Stage.BEFORE_DRAIN_PREPARE);
    expect(Stage.BEFORE_DRAIN_PREPARE).toBeLessThan(Stage.BEFORE_DRAIN_DELAY);
    const details = taps[0]!.plan!.details!.join('\n');
    expect(details).toContain(
      "REPLACEMENTS_MIN: the ECS service's desiredCount, read at the stop (ecs:DescribeServices",
    );
    expect(details).toContain("DISCOVERY_PROPAGATION: the Cloud Map service's longest DNS TTL");
    expect(details).toContain(
      'IAM (task role): ecs:DescribeTasks, servicediscovery:GetService, servicediscovery:GetNamespace, ecs:DescribeServices, servicediscovery:DiscoverInstances',
    );
    const set = createTestRunner({
      plugins: [cloudMap({ serviceId: 'srv-abc', replacementsMin: 3, discoveryPropagation: 7 })],
      task,
      env,
    }).runner.hooks.beforeDrain.taps[0] as { plan?: { details?: string[] } };
    expect(set.plan?.details).toEqual(
      expect.arrayContaining(['REPLACEMENTS_MIN: 3 (set)', 'DISCOVERY_PROPAGATION: 7 s (set)']),
    );
  });

  it('off by default: no beforeDrain tap', () => {
    const { runner } = createTestRunner({ plugins: [cloudMap({ serviceId: 'srv-abc' })], task });
    expect(runner.hooks.beforeDrain.taps).toEqual([]);
  });

  it("outside ECS: the region is the target group ARN's, and AWS_REGION wins over both", () => {
    const options = { targetGroupArns: [ARN], port: 8080, ip: '10.0.1.17' };
    expect(
      recordOf(createTestRunner({ plugins: [targetGroups(options)] }).runner, 'target-groups', 'AWS_REGION'),
    ).toMatchObject({ value: 'ap-south-1' });
    const { runner } = createTestRunner({ plugins: [targetGroups(options)], task, env: { AWS_REGION: 'us-east-2' } });
    expect(recordOf(runner, 'target-groups', 'AWS_REGION')).toMatchObject({ value: 'us-east-2', source: 'env' });
  });

  it.each([
    [
      { AWS_ENDPOINT_URL: 'http://user:hunter2@127.0.0.1:5000' },
      /^plugin "cloud-map": AWS_ENDPOINT_URL="http:\/\/\[redacted\]@127\.0\.0\.1:5000" is invalid: expected an http:\/\/ or https:\/\/ URL without user or password$/,
    ],
    [
      { AWS_REGION: 'Europe' },
      /^plugin "cloud-map": AWS_REGION="Europe" is invalid: expected an AWS region such as us-east-1$/,
    ],
    [
      { CLOUD_MAP_SERVICE_ID: 'srv-abc' },
      /^plugin "cloud-map": CLOUD_MAP_SERVICE_ID is set but this task's instance id is unknown: run in ECS \(ECS_CONTAINER_METADATA_URI_V4\) or set CLOUD_MAP_INSTANCE_ID$/,
    ],
    [
      { CLOUD_MAP_SERVICE_ID: 'srv-abc', CLOUD_MAP_INSTANCE_ID: 'i-1' },
      /^plugin "cloud-map": cloud-map needs an AWS region: set AWS_REGION/,
    ],
    [
      { DRAIN_DELAY_UNTIL: 'soon' },
      /^plugin "cloud-map": DRAIN_DELAY_UNTIL="soon" is invalid: expected one of off, replacements$/,
    ],
    [
      { DRAIN_DELAY_UNTIL: 'replacements' },
      /^plugin "cloud-map": DRAIN_DELAY_UNTIL=replacements needs the Cloud Map service callers find this task in: set CLOUD_MAP_SERVICE_ID \(srv-…/,
    ],
    [
      {
        DRAIN_DELAY_UNTIL: 'replacements',
        CLOUD_MAP_SERVICE_ID: 'srv-abc',
        CLOUD_MAP_INSTANCE_ID: 'i-1',
        AWS_REGION: 'us-east-1',
      },
      /^plugin "cloud-map": DRAIN_DELAY_UNTIL=replacements reads this task's ECS service and deployment, so it needs ECS \(ECS_CONTAINER_METADATA_URI_V4 unset\): run the helper in the ECS task, or unset DRAIN_DELAY_UNTIL$/,
    ],
    [
      { REPLACEMENTS_MIN: '2' },
      /^plugin "cloud-map": REPLACEMENTS_MIN is set but DRAIN_DELAY_UNTIL is off, so nothing reads it: set DRAIN_DELAY_UNTIL=replacements, or unset REPLACEMENTS_MIN$/,
    ],
    [
      { DISCOVERY_PROPAGATION: '5', CLOUD_MAP_SERVICE_ID: 'srv-abc' },
      /^plugin "cloud-map": DISCOVERY_PROPAGATION is set but DRAIN_DELAY_UNTIL is off/,
    ],
    [
      { DRAIN_DELAY_UNTIL: 'replacements', REPLACEMENTS_MIN: '0' },
      /^plugin "cloud-map": REPLACEMENTS_MIN="0" is invalid: expected a whole number of instances from 1 to 1000/,
    ],
    [
      { DRAIN_DELAY_UNTIL: 'replacements', DISCOVERY_PROPAGATION: '-1' },
      /^plugin "cloud-map": DISCOVERY_PROPAGATION="-1" is invalid: expected a number of seconds/,
    ],
  ])('rejects %j with one line naming the setting, a URL password never shown', (env, message) => {
    const create = () => createTestRunner({ plugins: [cloudMap()], env });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(message);
  });
});
