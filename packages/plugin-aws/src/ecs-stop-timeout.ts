// The ECS stopTimeout lookup, whole: the CLI's side (withEcsStopTimeout, at start), the child
// process it runs (answerInChild) and the ECS calls the child makes (readStopTimeout).
import { ConfigError, firstLine, type ResolvedConfig, type SetupContext, type TaskMetadata } from '@task-helper/core';
import { minStopTimeoutMs } from '@task-helper/core/host';
import { explainAwsError } from './aws-error.ts';
import { awsDefaults } from './aws-settings.ts';

/** ECS's stopTimeout when a container sets none (Fargate; and the EC2 agent's default ECS_CONTAINER_STOP_TIMEOUT). */
export const ECS_DEFAULT_STOP_TIMEOUT = 30;
/** Loading the ECS client and two API calls; past this the helper starts without the answer. */
const TIMEOUT_MS = 3_000;
/** What the child runs (`node -e`): this module's answerInChild, its URL the first argument. */
const CHILD = 'import(process.argv[1]).then((m) => m.answerInChild())';

/** The one answer: the container's stopTimeout (with a note when it is ECS's default), or why it is unknown. */
export type StopTimeoutAnswer = { stopTimeout: number; taskDefinition: string; note?: string } | { problem: string };

/**
 * In ECS, when neither STOP_TIMEOUT nor the config file gives the stop budget, reads the helper
 * container's real `stopTimeout` from the task definition, so the plan matches when ECS will
 * SIGKILL. When it cannot be read (no permission, no route, no answer in time, or no task
 * metadata), the helper plans with ECS's own default, 30 s, not core's 120: planning for more
 * than ECS gives would let SIGKILL land inside DRAIN_DELAY, before `/healthcheck/fail`. One warning
 * says so and names the fixes. An explicit STOP_TIMEOUT always wins and costs nothing.
 */
export async function withEcsStopTimeout(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
  logger: SetupContext['logger'],
): Promise<ResolvedConfig> {
  const record = config.settings.find((s) => s.env === 'STOP_TIMEOUT');
  if (record?.source !== 'default') return config;
  // Whatever goes wrong here, the helper starts: this only refines the plan.
  const answer: StopTimeoutAnswer =
    config.task === undefined
      ? { problem: 'the task metadata could not be read, so neither could the task definition' }
      : await askInChild(config.task, env).catch((error: unknown) => ({ problem: firstLine(error) }));
  if ('problem' in answer) {
    const container = config.task === undefined ? "the helper's container" : `container "${config.task.containerName}"`;
    logger.warn(
      { problem: answer.problem, stopTimeout: ECS_DEFAULT_STOP_TIMEOUT },
      `the helper container's stopTimeout could not be read from the task definition: planning with ECS's default, ${ECS_DEFAULT_STOP_TIMEOUT} s; set STOP_TIMEOUT to the stopTimeout of ${container} in the task definition, or allow ecs:DescribeTasks and ecs:DescribeTaskDefinition in the task role`,
    );
    return withStopTimeout(config, record, ECS_DEFAULT_STOP_TIMEOUT, 'default');
  }
  // As STOP_TIMEOUT itself refuses it: a budget this short would cut /healthcheck/fail.
  if (answer.stopTimeout * 1000 < minStopTimeoutMs)
    throw new ConfigError(
      `the helper container's stopTimeout in ${answer.taskDefinition} is ${answer.stopTimeout} s, too short to POST /healthcheck/fail and exit: raise it to at least ${minStopTimeoutMs / 1000} s in the task definition`,
    );
  logger.info(
    {
      stopTimeout: answer.stopTimeout,
      taskDefinition: answer.taskDefinition,
      ...(answer.note ? { note: answer.note } : {}),
    },
    'stop timeout read from the task definition',
  );
  return withStopTimeout(config, record, answer.stopTimeout, 'ecs');
}

function withStopTimeout(
  config: ResolvedConfig,
  record: ResolvedConfig['settings'][number],
  stopTimeout: number,
  source: 'default' | 'ecs',
): ResolvedConfig {
  return {
    ...config,
    stopTimeout,
    settings: config.settings.map((s) => (s === record ? { ...s, value: stopTimeout, source } : s)),
  };
}

/**
 * In a child process: loading the ECS client would keep about 16 MB in the idle helper for good;
 * the child gives it back when it exits.
 */
async function askInChild(task: TaskMetadata, env: NodeJS.ProcessEnv): Promise<StopTimeoutAnswer> {
  const { execFile } = process.getBuiltinModule('node:child_process');
  // This module by its package name: in the bundle, import.meta.url is a shared chunk's.
  const self = import.meta.resolve('@task-helper/plugin-aws/ecs-stop-timeout');
  return new Promise((resolve, reject) => {
    // The child's own AbortSignal ends the calls at TIMEOUT_MS; the kill is for a child that hangs anyway.
    // execArgv: the same module conditions (the workspace runs its packages from their sources).
    execFile(
      process.execPath,
      [...process.execArgv, '-e', CHILD, self, JSON.stringify(task)],
      { env, timeout: TIMEOUT_MS + 2_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${firstLine(stderr) || firstLine(error)}`));
        else resolve(JSON.parse(stdout) as StopTimeoutAnswer);
      },
    );
  });
}

/** The child's side: argv the task metadata as JSON; stdout the answer as JSON. */
export async function answerInChild(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as TaskMetadata;
  const answer = await readStopTimeout(task, process.env, AbortSignal.timeout(TIMEOUT_MS));
  process.stdout.write(JSON.stringify(answer));
}

/**
 * The helper container's real `stopTimeout`: `ecs:DescribeTasks` for the task definition's ARN,
 * then `ecs:DescribeTaskDefinition` for the container. Never throws: a failure is a `problem`
 * naming the permission, for the caller's one warning.
 */
async function readStopTimeout(
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
