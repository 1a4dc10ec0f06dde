// What DRAIN_DELAY_UNTIL=replacements asks AWS: once, which ECS service this task is in and how
// callers find it in Cloud Map; then, each read, which instances discovery returns HEALTHY and
// which deployment started each one's task.
import type { StopContext, TaskMetadata } from '@task-helper/core';
import { explainAwsError, type CallFix } from './aws-error.ts';
import { clientConfig, type AwsClientSettings } from './aws-settings.ts';
import type { ServiceView } from './replacements.ts';

/** The IAM actions the reads need, in the order they are first made; `plan` and docs/aws.md list them. */
export const REPLACEMENTS_ACTIONS = [
  'ecs:DescribeTasks',
  'servicediscovery:GetService',
  'servicediscovery:GetNamespace',
  'ecs:DescribeServices',
  'servicediscovery:DiscoverInstances',
] as const;

/** DescribeServices again after this many reads: desiredCount and the PRIMARY deployment seldom change within a stop. */
const SERVICE_EVERY = 5;
/** DescribeTasks takes at most 100 tasks; DiscoverInstances returns at most 1000 instances. */
const TASKS_PER_CALL = 100;
const MAX_INSTANCES = 1000;

/** Why the early path cannot go on, other than an AWS error (which explainAwsError words). */
export class NotReplaceable extends Error {}

export interface ServiceSource {
  /** The ECS service (`service:NAME` is the task's group). */
  service: string;
  /** The Cloud Map service's longest DNS TTL, in seconds; undefined when it has no DNS records (an HTTP namespace). */
  dnsTtl: number | undefined;
  read(): Promise<ServiceView>;
  close(): void;
}

/**
 * Loads the ECS and Cloud Map clients (at the stop: the idle helper never does), finds this task's
 * ECS service (`ecs:DescribeTasks`' group) and the Cloud Map service's name, namespace and DNS TTL,
 * and returns the reader. Every failure is an Error whose message names the API, the IAM action
 * and the fix; an abort passes through as it came.
 */
export async function openServiceSource(
  ctx: StopContext,
  aws: AwsClientSettings,
  task: TaskMetadata,
  cloudMapServiceId: string,
  ownInstanceId: string,
  /** Counts every AWS call made, failed ones too, for the end line (and the bench). */
  counter: { calls: number },
): Promise<ServiceSource> {
  // `.default` is module.exports (the SDK clients are CommonJS), the one form both Node and the bundle give.
  const [ecs, sd] = await Promise.all([
    import('@aws-sdk/client-ecs').then((m) => m.default),
    import('@aws-sdk/client-servicediscovery').then((m) => m.default),
  ]);
  const ecsClient = new ecs.ECSClient(clientConfig(aws));
  // DiscoverInstances goes to `data-servicediscovery.<region>`: the SDK prefixes the host with
  // `data-`, which would also turn AWS_ENDPOINT_URL (moto, a proxy) into a host that does not exist.
  const sdClient = new sd.ServiceDiscoveryClient({
    ...clientConfig(aws),
    ...(aws.endpoint === undefined ? {} : { disableHostPrefix: true }),
  });
  const account = aws.accountId ?? task.accountId;
  const clusterName = task.cluster.split('/').at(-1) ?? task.cluster;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${aws.region}:${account}:${resource}`;
  const send = async <T>(fix: CallFix, request: (o: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> => {
    counter.calls += 1;
    try {
      return await request({ abortSignal: ctx.abortSignal });
    } catch (error) {
      throw explainAwsError(error, fix, aws.region);
    }
  };
  const ecsFix = (api: string, resource: string): CallFix => ({
    api,
    permission: `ecs:${api}`,
    resource,
    endpoint: 'ecs',
  });
  const sdFix = (api: string, resource: string): CallFix => ({
    api,
    permission: `servicediscovery:${api}`,
    resource,
    endpoint: api === 'DiscoverInstances' ? 'data-servicediscovery' : 'servicediscovery',
  });
  const close = () => {
    ecsClient.destroy();
    sdClient.destroy();
  };
  try {
    const [own, cloudMap] = await Promise.all([
      send(ecsFix('DescribeTasks', arn('ecs', `task/${clusterName}/*`)), (o) =>
        ecsClient.send(new ecs.DescribeTasksCommand({ cluster: task.cluster, tasks: [task.taskArn] }), o),
      ),
      send(sdFix('GetService', arn('servicediscovery', `service/${cloudMapServiceId}`)), (o) =>
        sdClient.send(new sd.GetServiceCommand({ Id: cloudMapServiceId }), o),
      ),
    ]);
    const group = own.tasks?.[0]?.group;
    if (group === undefined)
      throw new NotReplaceable(`DescribeTasks did not find this task (${task.taskArn}) in ${task.cluster}`);
    if (!group.startsWith('service:'))
      throw new NotReplaceable(
        `this task is not part of an ECS service (its group is "${group}"): no deployment will replace it; unset DRAIN_DELAY_UNTIL for tasks run outside a service`,
      );
    const service = group.slice('service:'.length);
    const { Name: serviceName, NamespaceId, DnsConfig } = cloudMap.Service ?? {};
    if (serviceName === undefined || NamespaceId === undefined)
      throw new NotReplaceable(`GetService gave no name or namespace for Cloud Map service ${cloudMapServiceId}`);
    const { Namespace } = await send(sdFix('GetNamespace', arn('servicediscovery', `namespace/${NamespaceId}`)), (o) =>
      sdClient.send(new sd.GetNamespaceCommand({ Id: NamespaceId }), o),
    );
    const namespaceName = Namespace?.Properties?.HttpProperties?.HttpName ?? Namespace?.Name;
    if (namespaceName === undefined) throw new NotReplaceable(`GetNamespace gave no name for ${NamespaceId}`);
    const ttls = (DnsConfig?.DnsRecords ?? []).map((r) => r.TTL).filter((t) => t !== undefined);
    const dnsTtl = ttls.length > 0 ? Math.max(...ttls) : undefined;

    // Each task's deployment never changes, so each instance's task is asked about once.
    const deployments = new Map<string, string | undefined>();
    let ecsService: { desiredCount: number; primaryDeployment: string } | undefined;
    let reads = 0;
    const describeService = async () => {
      const { services, failures } = await send(
        ecsFix('DescribeServices', arn('ecs', `service/${clusterName}/${service}`)),
        (o) => ecsClient.send(new ecs.DescribeServicesCommand({ cluster: task.cluster, services: [service] }), o),
      );
      const found = services?.[0];
      if (found === undefined)
        throw new NotReplaceable(
          `DescribeServices did not find service ${service} in ${task.cluster}${failures?.[0]?.reason ? ` (${failures[0].reason})` : ''}`,
        );
      const primary = found.deployments?.find((d) => d.status === 'PRIMARY')?.id;
      if (primary === undefined) throw new NotReplaceable(`service ${service} has no PRIMARY deployment`);
      return { desiredCount: found.desiredCount ?? 0, primaryDeployment: primary };
    };
    const read = async (): Promise<ServiceView> => {
      if (ecsService === undefined || reads % SERVICE_EVERY === 0) ecsService = await describeService();
      reads += 1;
      const { Instances } = await send(sdFix('DiscoverInstances', '*'), (o) =>
        sdClient.send(
          new sd.DiscoverInstancesCommand({
            NamespaceName: namespaceName,
            ServiceName: serviceName,
            HealthStatus: 'HEALTHY',
            MaxResults: MAX_INSTANCES,
          }),
          o,
        ),
      );
      const seenAt = Date.now();
      const ids = (Instances ?? [])
        .map((i) => i.InstanceId)
        .filter((id): id is string => id !== undefined && id !== ownInstanceId && id !== task.taskId);
      const unknown = ids.filter((id) => !deployments.has(id));
      for (let i = 0; i < unknown.length; i += TASKS_PER_CALL) {
        const batch = unknown.slice(i, i + TASKS_PER_CALL);
        const { tasks } = await send(ecsFix('DescribeTasks', arn('ecs', `task/${clusterName}/*`)), (o) =>
          ecsClient.send(new ecs.DescribeTasksCommand({ cluster: task.cluster, tasks: batch }), o),
        );
        // An instance no task matches (registered by hand, another cluster's) never counts.
        for (const id of batch) deployments.set(id, undefined);
        for (const t of tasks ?? []) {
          const id = t.taskArn?.split('/').at(-1);
          if (id !== undefined && deployments.has(id)) deployments.set(id, t.startedBy);
        }
      }
      return { ...ecsService, healthy: ids.map((id) => ({ id, deployment: deployments.get(id) })), seenAt };
    };
    return { service, dnsTtl, read, close };
  } catch (error) {
    close();
    throw error;
  }
}
