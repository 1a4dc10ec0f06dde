import {
  ServiceDiscoveryClient,
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
  ListInstancesCommand,
  GetInstancesHealthStatusCommand,
} from '@aws-sdk/client-servicediscovery';
import {
  ElasticLoadBalancingV2Client,
  CreateTargetGroupCommand,
  RegisterTargetsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { MOTO_REGION, type Moto } from './moto.ts';

/** The task from test/fixtures/ecs-metadata: its id is the Cloud Map instance id, its address the target. */
export const fixtureTask = Object.freeze({ taskId: 'e9028f8d5d8e4f258373e7b93ce9a3c3', ip: '10.0.2.106', port: 8080 });

export interface AwsWorld {
  serviceId: string;
  targetGroupArn: string;
  cloudMap: ServiceDiscoveryClient;
  elb: ElasticLoadBalancingV2Client;
  /** Instance ids registered in the service now. */
  instances(): Promise<string[]>;
  /** The custom health status Cloud Map holds for the task's instance. */
  health(): Promise<string | undefined>;
  /** The target's state in the target group now. */
  targetState(): Promise<string | undefined>;
}

/**
 * In moto: an HTTP namespace with one service holding this task's instance (and a neighbour's),
 * and an `ip` target group with this task's address as a target, as ECS service discovery and a
 * service's load balancer registration leave them.
 */
export async function createAwsWorld(moto: Moto, { customHealth = false } = {}): Promise<AwsWorld> {
  const config = {
    region: MOTO_REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const cloudMap = new ServiceDiscoveryClient(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  const { OperationId } = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: 'orders.internal' }));
  const { Operation } = await cloudMap.send(new GetOperationCommand({ OperationId }));
  const namespaceId = Operation!.Targets!.NAMESPACE!;
  const { Service } = await cloudMap.send(
    new CreateServiceCommand({
      Name: 'orders',
      NamespaceId: namespaceId,
      ...(customHealth ? { HealthCheckCustomConfig: { FailureThreshold: 1 } } : {}),
    }),
  );
  const serviceId = Service!.Id!;
  for (const [id, ip] of [
    [fixtureTask.taskId, fixtureTask.ip],
    ['0f1e2d3c4b5a69788796a5b4c3d2e1f0', '10.0.3.17'],
  ] as const) {
    await cloudMap.send(
      new RegisterInstanceCommand({
        ServiceId: serviceId,
        InstanceId: id,
        Attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: String(fixtureTask.port) },
      }),
    );
  }
  const vpcId = await createVpc(moto);
  const { TargetGroups } = await elb.send(
    new CreateTargetGroupCommand({
      Name: 'orders',
      Protocol: 'HTTP',
      Port: fixtureTask.port,
      VpcId: vpcId,
      TargetType: 'ip',
    }),
  );
  const targetGroupArn = TargetGroups![0]!.TargetGroupArn!;
  await elb.send(
    new RegisterTargetsCommand({
      TargetGroupArn: targetGroupArn,
      Targets: [
        { Id: fixtureTask.ip, Port: fixtureTask.port },
        { Id: '10.0.3.17', Port: fixtureTask.port },
      ],
    }),
  );
  return {
    serviceId,
    targetGroupArn,
    cloudMap,
    elb,
    instances: async () =>
      ((await cloudMap.send(new ListInstancesCommand({ ServiceId: serviceId }))).Instances ?? [])
        .map((i) => i.Id!)
        .sort(),
    health: async () =>
      (
        await cloudMap.send(
          new GetInstancesHealthStatusCommand({ ServiceId: serviceId, Instances: [fixtureTask.taskId] }),
        )
      ).Status?.[fixtureTask.taskId],
    targetState: async () =>
      (
        await elb.send(
          new DescribeTargetHealthCommand({
            TargetGroupArn: targetGroupArn,
            Targets: [{ Id: fixtureTask.ip, Port: fixtureTask.port }],
          }),
        )
      ).TargetHealthDescriptions?.[0]?.TargetHealth?.State,
  };
}

/** A VPC for a target group or a private DNS namespace (moto checks it exists). */
export async function createVpc(moto: Moto): Promise<string> {
  const vpcId = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(
    await motoQuery(moto, 'ec2', { Action: 'CreateVpc', CidrBlock: '10.0.0.0/16', Version: '2016-11-15' }),
  )?.[1];
  if (!vpcId) throw new Error('CreateVpc in moto gave no vpcId');
  return vpcId;
}

/**
 * One call to an AWS query API (EC2, IAM) in moto, for setting up what the tests need no client
 * for. moto reads the region and service from the credential scope and, with IAM off, checks no signature.
 */
export async function motoQuery(moto: Moto, service: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(moto.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20261125/${service === 'iam' ? 'us-east-1' : MOTO_REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${params.Action} in moto failed: HTTP ${response.status} ${text}`);
  return text;
}

/** An IAM user in moto allowed only `actions`, and its access key: the helper's credentials in the access-denied tests. */
export async function createRestrictedUser(moto: Moto, actions: string[]): Promise<Record<string, string>> {
  const version = { Version: '2010-05-08' };
  await motoQuery(moto, 'iam', { Action: 'CreateUser', UserName: 'task-role', ...version });
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] };
  await motoQuery(moto, 'iam', {
    Action: 'PutUserPolicy',
    UserName: 'task-role',
    PolicyName: 'drain',
    PolicyDocument: JSON.stringify(policy),
    ...version,
  });
  const key = await motoQuery(moto, 'iam', { Action: 'CreateAccessKey', UserName: 'task-role', ...version });
  return {
    AWS_ACCESS_KEY_ID: /<AccessKeyId>([^<]+)</.exec(key)![1]!,
    AWS_SECRET_ACCESS_KEY: /<SecretAccessKey>([^<]+)</.exec(key)![1]!,
  };
}
