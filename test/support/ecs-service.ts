import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateHttpNamespaceCommand,
  CreatePrivateDnsNamespaceCommand,
  CreateServiceCommand as CreateDiscoveryServiceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand,
} from '@aws-sdk/client-servicediscovery';
import { createVpc, motoQuery } from './aws-resources.ts';
import { startMetadataServer, type MetadataServer } from './ecs-metadata.ts';
import { MOTO_REGION, type Moto } from './moto.ts';

/** One task of the service, as moto's ECS ran it; its id is its Cloud Map instance id. */
export interface ServiceTask {
  taskArn: string;
  taskId: string;
  /** The deployment that started it (ECS `startedBy`). */
  deployment: string;
}

export interface EcsServiceWorld {
  cluster: string;
  service: string;
  /** The Cloud Map service callers use, and the names DiscoverInstances takes. */
  cloudMapServiceId: string;
  namespaceName: string;
  cloudMapServiceName: string;
  ecs: ECSClient;
  cloudMap: ServiceDiscoveryClient;
  /** The service's PRIMARY deployment now. */
  primary(): Promise<string>;
  /** A new PRIMARY deployment (UpdateService with forceNewDeployment), as a rolling update starts; its id. */
  newDeployment(): Promise<string>;
  setDesiredCount(count: number): Promise<void>;
  /** RunTask in the service's group, started by `deployment` (default the PRIMARY one). */
  runTask(deployment?: string): Promise<ServiceTask>;
  /**
   * Registers the task in Cloud Map, HEALTHY (moto registers every instance healthy), as ECS does in
   * ACTIVATING; at `address` when callers must reach it (the rolling deploy), else at a made-up one.
   */
  register(task: ServiceTask, address?: { ip: string; port: number }): Promise<void>;
  /** Sets its custom health status (the service has a custom health check config). */
  setHealth(task: ServiceTask, status: 'HEALTHY' | 'UNHEALTHY'): Promise<void>;
  /** The task metadata endpoint for `task`, as the helper in that task reads it. */
  metadataFor(task: ServiceTask): Promise<MetadataServer>;
  close(): void;
}

/**
 * In moto: a cluster with one container instance, an ECS service (`orders`, `desiredCount`) whose
 * tasks RunTask starts in its group with a deployment's id as `startedBy` (moto's services start no
 * tasks themselves), and a Cloud Map service (custom health check config; in an HTTP namespace,
 * or in a private DNS namespace with an A record of `dnsTtl` seconds).
 */
export async function createEcsServiceWorld(
  moto: Moto,
  { desiredCount, dnsTtl }: { desiredCount: number; dnsTtl?: number },
): Promise<EcsServiceWorld> {
  const config = {
    region: MOTO_REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const ecs = new ECSClient(config);
  const cloudMap = new ServiceDiscoveryClient(config);
  const { cluster } = await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  const clusterArn = cluster!.clusterArn!;
  // EC2 in bridge mode: moto 5.2.5's RunTask fails on awsvpc tasks (stop-timeout.test.ts says why).
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'orders',
      networkMode: 'bridge',
      requiresCompatibilities: ['EC2'],
      containerDefinitions: [
        { name: 'task-helper', image: 'task-helper:latest', memory: 32 },
        { name: 'envoy', image: 'envoyproxy/envoy:v1.40.0', memory: 32 },
      ],
    }),
  );
  const instanceId = /<instanceId>(i-\w+)</.exec(
    await motoQuery(moto, 'ec2', {
      Action: 'RunInstances',
      ImageId: 'ami-12c6146b',
      InstanceType: 'm5.large',
      MinCount: '1',
      MaxCount: '1',
      Version: '2016-11-15',
    }),
  )![1]!;
  await ecs.send(
    new RegisterContainerInstanceCommand({ cluster: 'prod', instanceIdentityDocument: JSON.stringify({ instanceId }) }),
  );
  await ecs.send(
    new CreateServiceCommand({ cluster: 'prod', serviceName: 'orders', taskDefinition: 'orders', desiredCount }),
  );

  const namespaceOperation =
    dnsTtl === undefined
      ? await cloudMap.send(new CreateHttpNamespaceCommand({ Name: 'orders.internal' }))
      : await cloudMap.send(
          new CreatePrivateDnsNamespaceCommand({ Name: 'orders.internal', Vpc: await createVpc(moto) }),
        );
  const { Operation } = await cloudMap.send(new GetOperationCommand({ OperationId: namespaceOperation.OperationId }));
  const namespaceId = Operation!.Targets!.NAMESPACE!;
  const { Service } = await cloudMap.send(
    new CreateDiscoveryServiceCommand({
      Name: 'orders',
      NamespaceId: namespaceId,
      HealthCheckCustomConfig: { FailureThreshold: 1 },
      ...(dnsTtl === undefined ? {} : { DnsConfig: { DnsRecords: [{ Type: 'A', TTL: dnsTtl }] } }),
    }),
  );
  const cloudMapServiceId = Service!.Id!;

  const primary = async () => {
    const { services } = await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['orders'] }));
    return services![0]!.deployments!.find((d) => d.status === 'PRIMARY')!.id!;
  };
  let ip = 10;
  return {
    cluster: clusterArn,
    service: 'orders',
    cloudMapServiceId,
    namespaceName: 'orders.internal',
    cloudMapServiceName: 'orders',
    ecs,
    cloudMap,
    primary,
    newDeployment: async () => {
      await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'orders', forceNewDeployment: true }));
      return primary();
    },
    setDesiredCount: async (count) =>
      void (await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'orders', desiredCount: count }))),
    runTask: async (deployment) => {
      const startedBy = deployment ?? (await primary());
      const { tasks } = await ecs.send(
        new RunTaskCommand({
          cluster: 'prod',
          taskDefinition: 'orders',
          launchType: 'EC2',
          group: 'service:orders',
          startedBy,
        }),
      );
      const taskArn = tasks![0]!.taskArn!;
      return { taskArn, taskId: taskArn.split('/').at(-1)!, deployment: startedBy };
    },
    register: async (task, address) => {
      ip += 1;
      const { ip: at, port } = address ?? { ip: `10.0.3.${ip}`, port: 8080 };
      await cloudMap.send(
        new RegisterInstanceCommand({
          ServiceId: cloudMapServiceId,
          InstanceId: task.taskId,
          Attributes: { AWS_INSTANCE_IPV4: at, AWS_INSTANCE_PORT: String(port) },
        }),
      );
    },
    setHealth: async (task, status) =>
      void (await cloudMap.send(
        new UpdateInstanceCustomHealthStatusCommand({
          ServiceId: cloudMapServiceId,
          InstanceId: task.taskId,
          Status: status,
        }),
      )),
    metadataFor: (task) => startMetadataServer({ TaskARN: task.taskArn, Cluster: clusterArn }),
    close: () => {
      ecs.destroy();
      cloudMap.destroy();
    },
  };
}
