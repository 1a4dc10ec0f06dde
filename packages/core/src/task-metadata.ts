// The ECS task the helper runs in, read at start by the CLI (identifyTask), for plugins to use
// through `config.task`: the type, the variable that locates it and the reader, in one place.
import type { Logger } from 'pino';
import { firstLine } from './errors.ts';
import { httpGet } from './http-get.ts';

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

/** The endpoint is link-local and answers in milliseconds; a read must not hold up `ready` long. */
const READ_TIMEOUT_MS = 1_000;
/**
 * A helper still loading on a busy host can miss one 1 s bound; without its identity the Cloud Map
 * and target-group steps fail at the stop, so a missed read is tried again before giving up.
 */
const READ_TRIES = 3;
const RETRY_PAUSE_MS = 250;

/**
 * Reads `${ECS_CONTAINER_METADATA_URI_V4}` (this container) and `…/task` (the task) at start.
 * Outside ECS (the variable absent) it reads nothing and returns `{}`; a failed read is a
 * `problem` for the caller to log as a warning, never a reason not to start.
 */
async function readTaskMetadata(env: NodeJS.ProcessEnv): Promise<{ task?: TaskMetadata; problem?: string }> {
  const signal = new AbortController().signal;
  const base = env[METADATA_ENV];
  if (base === undefined || base === '') return {};
  for (let attempt = 1; ; attempt++) {
    try {
      const [container, task] = await Promise.all([getJson(base, signal), getJson(`${base}/task`, signal)]);
      return { task: parseTaskMetadata(container, task) };
    } catch (error) {
      if (attempt === READ_TRIES)
        return { problem: `${METADATA_ENV}=${base}: ${firstLine(error)} (${READ_TRIES} tries)` };
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  }
}

async function getJson(url: string, signal: AbortSignal): Promise<unknown> {
  const { status, body } = await httpGet(url, signal, READ_TIMEOUT_MS);
  if (status !== 200) throw new Error(`GET ${url} answered HTTP ${status}`);
  return JSON.parse(body);
}

type Json = Record<string, unknown>;
const object = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {});
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export function parseTaskMetadata(containerJson: unknown, taskJson: unknown): TaskMetadata {
  const container = object(containerJson);
  const task = object(taskJson);
  const taskArn = text(task.TaskARN);
  const arn = /^arn:[\w-]+:ecs:([\w-]+):(\d{12}):task\/(?:[\w-]+\/)?([\w-]+)$/.exec(taskArn ?? '');
  if (!taskArn || !arn) throw new Error(`/task has no valid TaskARN (got ${JSON.stringify(task.TaskARN)})`);
  const containerName = text(container.Name);
  if (!containerName) throw new Error('the container metadata has no Name');
  const family = text(task.Family);
  const revision = text(task.Revision);
  // awsvpc (Fargate, and EC2 tasks with their own ENI): every container shares the task's address.
  const networks = [container, ...(Array.isArray(task.Containers) ? task.Containers : [])].flatMap((c) =>
    Array.isArray(object(c).Networks) ? (object(c).Networks as unknown[]) : [],
  );
  const privateIpv4 = networks
    .map((n) => object(n).IPv4Addresses)
    .flatMap((a) => (Array.isArray(a) ? a : []))
    .map(text)
    .find((a) => a !== undefined);
  return {
    taskArn,
    taskId: arn[3]!,
    cluster: text(task.Cluster) ?? '',
    taskDefinition: family && revision ? `${family}:${revision}` : (family ?? ''),
    containerName,
    privateIpv4,
    region: arn[1]!,
    accountId: arn[2]!,
    launchType: text(task.LaunchType),
  };
}

/**
 * The call site's half: reads the metadata, binds `taskArn` and `cluster` into every later line
 * of `logger` (so Logs Insights can group a drain by task), and warns once if the read failed.
 */
export async function identifyTask(logger: Logger, env: NodeJS.ProcessEnv): Promise<TaskMetadata | undefined> {
  const { task, problem } = await readTaskMetadata(env);
  if (problem !== undefined)
    logger.warn(
      { problem },
      'task metadata could not be read: carrying on without the task identity (plugins that need it will say so)',
    );
  if (task === undefined) return undefined;
  logger.setBindings({ taskArn: task.taskArn, cluster: task.cluster });
  logger.debug({ task }, 'task metadata read');
  return task;
}
