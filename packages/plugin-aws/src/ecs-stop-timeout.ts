import type { TaskMetadata } from '@task-helper/core';
import { explainAwsError } from './aws-error.ts';
import { awsDefaults } from './aws-settings.ts';

/** ECS's stopTimeout when a container sets none (Fargate; and the EC2 agent's default ECS_CONTAINER_STOP_TIMEOUT). */
export const ECS_DEFAULT_STOP_TIMEOUT = 30;

export type StopTimeoutAnswer = { stopTimeout: number; taskDefinition: string; note?: string } | { problem: string };

/**
 * The helper container's real `stopTimeout`: `ecs:DescribeTasks` for the task definition's ARN,
 * then `ecs:DescribeTaskDefinition` for the container. Never throws: a failure is a `problem`
 * naming the permission, for the caller's one warning.
 */
export async function readStopTimeout(
  task: TaskMetadata,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<StopTimeoutAnswer> {
  const region = env.AWS_REGION || task.region;
  const resource = (kind: string, id: string) => `arn:aws:ecs:${region}:${task.accountId}:${kind}/${id}`;
  // Only when STOP_TIMEOUT is unset, at start: the ECS client is loaded for this alone. `.default`
  // is module.exports (the SDK clients are CommonJS), the one form both Node and the bundle give.
  const ecs = (await import('@aws-sdk/client-ecs')).default;
  const client = new ecs.ECSClient({
    region,
    ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
    maxAttempts: 2,
    requestHandler: {
      requestTimeout: awsDefaults.requestTimeoutMs,
      connectionTimeout: awsDefaults.connectionTimeoutMs,
    },
  });
  let api = 'DescribeTasks';
  let on = task.taskArn;
  try {
    const { tasks } = await client.send(
      new ecs.DescribeTasksCommand({ cluster: task.cluster, tasks: [task.taskArn] }),
      { abortSignal: signal },
    );
    const described = tasks?.[0];
    if (!described?.taskDefinitionArn)
      return { problem: `DescribeTasks did not find ${task.taskArn} in ${task.cluster}` };
    api = 'DescribeTaskDefinition';
    on = '*';
    const { taskDefinition } = await client.send(
      new ecs.DescribeTaskDefinitionCommand({ taskDefinition: described.taskDefinitionArn }),
      { abortSignal: signal },
    );
    const name = described.taskDefinitionArn.split('/').at(-1) ?? described.taskDefinitionArn;
    const container = taskDefinition?.containerDefinitions?.find((c) => c.name === task.containerName);
    if (!container) return { problem: `${name} has no container named ${task.containerName}` };
    if (container.stopTimeout !== undefined) return { stopTimeout: container.stopTimeout, taskDefinition: name };
    const onFargate = (described.launchType ?? task.launchType) === 'FARGATE';
    return {
      stopTimeout: ECS_DEFAULT_STOP_TIMEOUT,
      taskDefinition: name,
      note: onFargate
        ? `${task.containerName} sets no stopTimeout: ECS's default, ${ECS_DEFAULT_STOP_TIMEOUT} s, applies`
        : `${task.containerName} sets no stopTimeout: the ECS agent's ECS_CONTAINER_STOP_TIMEOUT applies (${ECS_DEFAULT_STOP_TIMEOUT} s unless the instance sets another); set STOP_TIMEOUT if it does`,
    };
  } catch (error) {
    const explained = explainAwsError(
      error,
      {
        api,
        permission: `ecs:${api}`,
        resource: on === '*' ? '*' : resource('task', `${task.cluster.split('/').at(-1)}/*`),
        endpoint: 'ecs',
      },
      region,
    );
    return { problem: explained.message };
  } finally {
    client.destroy();
  }
}
