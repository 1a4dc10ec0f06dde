// The ECS task the helper runs in, as the CLI reads it at start (packages/cli/src/task-metadata.ts),
// for plugins to use through `config.task`.

/** What the ECS task metadata endpoint (v4) says about the task the helper runs in. */
export interface TaskMetadata {
  taskArn: string;
  /** The last part of the task ARN: the id ECS registers in Cloud Map as the instance id. */
  taskId: string;
  cluster: string;
  /** `family:revision` of the task definition. */
  taskDefinition: string;
  /** The helper's own container, as the task definition names it. */
  containerName: string;
  /** The task's private IPv4 address (awsvpc: the task's ENI), the id of an `ip` target group's target. */
  privateIpv4: string | undefined;
  /** From the task ARN. */
  region: string;
  accountId: string;
  launchType: string | undefined;
}

/** The variable ECS sets in every container; absent outside ECS. */
export const METADATA_ENV = 'ECS_CONTAINER_METADATA_URI_V4';
