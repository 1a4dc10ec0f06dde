import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand as CreateDiscoveryServiceCommand,
  DeregisterInstanceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { motoQuery } from './aws-resources.ts';
import { MOTO_REGION, type Moto } from './moto.ts';

/**
 * An ECS service with Cloud Map service discovery, in moto, as a rolling deploy sees it: a cluster
 * with one EC2 container instance, the service (`desiredCount` tasks, registered in an HTTP
 * namespace's Cloud Map service), and the calls ECS itself makes during a deploy, done by hand
 * because moto's services start no tasks:
 * - `deploy()`: UpdateService with a new task definition revision and forceNewDeployment. moto
 *   5.2.5 keeps one deployment and gives it a new id (no PRIMARY/ACTIVE pair): the new id is the
 *   PRIMARY deployment's.
 * - `runTask()`: RunTask with `startedBy` the deployment's id and `group` `service:<name>`, which
 *   is what ECS gives a service's tasks (DescribeTasks shows both).
 * - `register()` / `deregister()`: the task in the Cloud Map service (moto registers HEALTHY).
 * Tasks are pinned RUNNING (moto's state manager: its default moves a task towards STOPPED on each
 * DescribeTasks that names it); `stopTask()` is ECS recording the stop.
 */
export interface EcsService {
  readonly cluster: string;
  readonly clusterArn: string;
  readonly serviceName: string;
  readonly serviceArn: string;
  readonly desiredCount: number;
  readonly namespaceName: string;
  readonly cloudMapServiceName: string;
  readonly cloudMapServiceId: string;
  /** The PRIMARY deployment's id now. */
  primaryDeployment(): Promise<string>;
  /** A new deployment (the next task definition revision); resolves with its id. */
  deploy(): Promise<string>;
  runTask(deploymentId: string): Promise<{ taskArn: string; taskId: string }>;
  register(taskId: string, address: { ip: string; port: number }): Promise<void>;
  deregister(taskId: string): Promise<void>;
  stopTask(taskArn: string): Promise<void>;
  close(): void;
}

const TASK_DEFINITION = 'orders';

export async function createEcsService(moto: Moto, { desiredCount = 2 } = {}): Promise<EcsService> {
  const config = {
    region: MOTO_REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const ecs = new ECSClient(config);
  const cloudMap = new ServiceDiscoveryClient(config);
  const pin = await fetch(`${moto.url}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 'ecs::task', transition: { progression: 'manual', times: 1e9 } }),
  });
  if (!pin.ok) throw new Error(`moto state manager: HTTP ${pin.status} ${await pin.text()}`);

  const namespaceName = 'orders.internal';
  const { OperationId } = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: namespaceName }));
  const { Operation } = await cloudMap.send(new GetOperationCommand({ OperationId }));
  const { Service: discovery } = await cloudMap.send(
    new CreateDiscoveryServiceCommand({ Name: 'orders', NamespaceId: Operation!.Targets!.NAMESPACE! }),
  );

  const { cluster } = await ecs.send(new CreateClusterCommand({ clusterName: 'default' }));
  // Two revisions: the one running, and the one the deploy rolls out.
  for (let revision = 1; revision <= 2; revision += 1) {
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        // EC2 in bridge mode: moto 5.2.5's RunTask fails on awsvpc tasks (test/aws/stop-timeout.test.ts).
        family: TASK_DEFINITION,
        networkMode: 'bridge',
        requiresCompatibilities: ['EC2'],
        containerDefinitions: [
          { name: 'task-helper', image: 'task-helper:latest', memory: 128, stopTimeout: 120 },
          { name: 'envoy', image: 'envoyproxy/envoy:v1.40.0', memory: 256, stopTimeout: 120 },
          { name: 'app', image: `orders:${revision}`, memory: 256 },
        ],
      }),
    );
  }
  const instanceId = /<instanceId>(i-\w+)</.exec(
    await motoQuery(moto, 'ec2', {
      Action: 'RunInstances',
      ImageId: 'ami-12c6146b',
      MinCount: '1',
      MaxCount: '1',
      Version: '2016-11-15',
    }),
  )?.[1];
  if (!instanceId) throw new Error('RunInstances in moto gave no instanceId');
  await ecs.send(
    new RegisterContainerInstanceCommand({
      cluster: 'default',
      instanceIdentityDocument: JSON.stringify({ instanceId }),
    }),
  );
  const { service } = await ecs.send(
    new CreateServiceCommand({
      cluster: 'default',
      serviceName: 'orders',
      taskDefinition: `${TASK_DEFINITION}:1`,
      desiredCount,
      launchType: 'EC2',
      serviceRegistries: [{ registryArn: discovery!.Arn! }],
    }),
  );

  const primaryDeployment = async () => {
    const { services } = await ecs.send(new DescribeServicesCommand({ cluster: 'default', services: ['orders'] }));
    const primary = services?.[0]?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
    if (!primary) throw new Error(`moto's service orders has no PRIMARY deployment: ${JSON.stringify(services)}`);
    return primary;
  };

  return {
    cluster: 'default',
    clusterArn: cluster!.clusterArn!,
    serviceName: 'orders',
    serviceArn: service!.serviceArn!,
    desiredCount,
    namespaceName,
    cloudMapServiceName: discovery!.Name!,
    cloudMapServiceId: discovery!.Id!,
    primaryDeployment,
    async deploy() {
      await ecs.send(
        new UpdateServiceCommand({
          cluster: 'default',
          service: 'orders',
          taskDefinition: `${TASK_DEFINITION}:2`,
          forceNewDeployment: true,
        }),
      );
      return primaryDeployment();
    },
    async runTask(deploymentId) {
      const { services } = await ecs.send(new DescribeServicesCommand({ cluster: 'default', services: ['orders'] }));
      const { tasks, failures } = await ecs.send(
        new RunTaskCommand({
          cluster: 'default',
          taskDefinition: services![0]!.taskDefinition!,
          launchType: 'EC2',
          startedBy: deploymentId,
          group: 'service:orders',
        }),
      );
      const taskArn = tasks?.[0]?.taskArn;
      if (!taskArn) throw new Error(`RunTask in moto placed no task: ${JSON.stringify(failures)}`);
      return { taskArn, taskId: taskArn.split('/').at(-1)! };
    },
    async register(taskId, { ip, port }) {
      await cloudMap.send(
        new RegisterInstanceCommand({
          ServiceId: discovery!.Id!,
          InstanceId: taskId,
          Attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: String(port), ECS_SERVICE_NAME: 'orders' },
        }),
      );
    },
    async deregister(taskId) {
      try {
        await cloudMap.send(new DeregisterInstanceCommand({ ServiceId: discovery!.Id!, InstanceId: taskId }));
      } catch (error) {
        // The helper's cloud-map plugin took it out already.
        if ((error as Error).name !== 'InstanceNotFound') throw error;
      }
    },
    async stopTask(taskArn) {
      await ecs.send(new StopTaskCommand({ cluster: 'default', task: taskArn, reason: 'rolling deploy' }));
    },
    close() {
      ecs.destroy();
      cloudMap.destroy();
    },
  };
}
