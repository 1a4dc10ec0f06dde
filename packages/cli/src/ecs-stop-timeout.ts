import type { Logger } from 'pino';
import type { ResolvedConfig, TaskMetadata } from '@task-helper/core';
import { firstLine } from '@task-helper/core/host';

export const ecsStopTimeoutDefaults = Object.freeze({
  /** Loading the ECS client and two API calls; past this the helper starts with STOP_TIMEOUT's default. */
  timeoutMs: 3_000,
});

/**
 * In ECS, when neither STOP_TIMEOUT nor the config file gives the stop budget, reads the helper
 * container's real `stopTimeout` from the task definition, so the plan matches when ECS will
 * SIGKILL. Without the permission (or the API): one warning naming it and the setting, and the
 * default stays. An explicit STOP_TIMEOUT always wins and costs nothing.
 */
export async function withEcsStopTimeout(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<ResolvedConfig> {
  const record = config.settings.find((s) => s.env === 'STOP_TIMEOUT');
  if (config.task === undefined || record?.source !== 'default') return config;
  // Whatever goes wrong here, the helper starts: this only refines the plan.
  const answer = await askInChild(config.task, env).catch((error: unknown) => ({ problem: firstLine(error) }));
  if ('problem' in answer) {
    logger.warn(
      { problem: answer.problem, stopTimeout: config.stopTimeout },
      `the helper container's stopTimeout could not be read from the task definition: planning with ${config.stopTimeout} s; allow ecs:DescribeTasks and ecs:DescribeTaskDefinition in the task role, or set STOP_TIMEOUT`,
    );
    return config;
  }
  logger.info(
    {
      stopTimeout: answer.stopTimeout,
      taskDefinition: answer.taskDefinition,
      ...(answer.note ? { note: answer.note } : {}),
    },
    'stop timeout read from the task definition',
  );
  return {
    ...config,
    stopTimeout: answer.stopTimeout,
    settings: config.settings.map((s) =>
      s === record ? { ...s, value: answer.stopTimeout, source: 'ecs' as const } : s,
    ),
  };
}

type Answer = { stopTimeout: number; taskDefinition: string; note?: string } | { problem: string };

/**
 * In a child process (plugin-aws's ecs-stop-timeout-cli): loading the ECS client would keep about
 * 16 MB in the idle helper for good; the child gives it back when it exits.
 */
async function askInChild(task: TaskMetadata, env: NodeJS.ProcessEnv): Promise<Answer> {
  const { execFile } = process.getBuiltinModule('node:child_process');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  const script = fileURLToPath(import.meta.resolve('@task-helper/plugin-aws/ecs-stop-timeout-cli'));
  const { timeoutMs } = ecsStopTimeoutDefaults;
  return new Promise((resolve, reject) => {
    // The child's own AbortSignal ends the calls at timeoutMs; the kill is for a child that hangs anyway.
    // execArgv: the same module conditions (the workspace runs its packages from their sources).
    execFile(
      process.execPath,
      [...process.execArgv, script, JSON.stringify(task), String(timeoutMs)],
      { env, timeout: timeoutMs + 2_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${firstLine(stderr) || firstLine(error)}`));
        else resolve(JSON.parse(stdout) as Answer);
      },
    );
  });
}
