import type { ContainerDefinition, TaskDefinition } from '../../examples/ecs/task-definition.ts';
import { docker, dockerOk, engine, TEST_LABEL } from './docker.ts';

/**
 * A task definition run on the real engine as the ECS agent runs it (awsvpc): a pause container
 * holds the task's network namespace and every container joins it; a container starts once its
 * `dependsOn` conditions hold (START: started, HEALTHY: its healthCheck passed), with the
 * definition's command, environment, healthCheck (command, interval, timeout, retries,
 * startPeriod), user, readonlyRootFilesystem and linuxParameters.initProcessEnabled; the task
 * stops as the agent stops it: `docker stop -t <stopTimeout>` (30 s when unset, ECS's default),
 * container by container, in reverse dependency order, each only once the one before has exited.
 * The agent's ECS_CONTAINER_METADATA_URI_V4 is set, but no metadata endpoint answers it (no route
 * in these namespaces), as for a task whose metadata cannot be read. Not modelled: portMappings (awsvpc publishes nothing; callers reach the task's address),
 * logConfiguration (the logs stay in Docker's), cpu and memory.
 */

/** ECS's own defaults for a healthCheck's unset fields (seconds). */
const HEALTH_DEFAULTS = { interval: 30, timeout: 5, retries: 3, startPeriod: 0 };
export const ECS_DEFAULT_STOP_TIMEOUT = 30;
const SECOND_NS = 1_000_000_000;

type Health = 'starting' | 'healthy' | 'unhealthy' | 'none';

interface TaskContainer {
  definition: ContainerDefinition;
  id: string;
  startedAt: number;
  healthyAt?: number;
  /** When `docker stop` was sent: the container's SIGTERM. */
  stopAt?: number;
  exitedAt?: number;
  exitCode?: number;
  /** Every health status seen (polled every 250 ms), with when. */
  health: Array<{ status: Health; at: number }>;
  /** Every health check run (Docker keeps the last five; polling collects them all), by its start time. */
  checks: Map<string, { start: number; exitCode: number; output: string }>;
  /** Set when the container exited before the task stopped it (ECS would stop an essential one's task). */
  exitedEarly?: number;
}

export interface EcsTask {
  name: string;
  /** The task's address on `network`, as callers reach it. */
  ip: string;
  containers: Map<string, TaskContainer>;
  /** Stops the task as the ECS agent does; resolves once every container has exited. */
  stop(): Promise<void>;
  /** A container's stdout, then its stderr, so far. */
  logs(container: string): Promise<string>;
  /** Ends the health polling and removes the task's containers at once (SIGKILL). */
  remove(): Promise<void>;
}

export interface EcsTaskOptions {
  /** Distinguishes this task's containers (their names and labels). */
  name: string;
  /** Labels every container gets besides TEST_LABEL (the test run's, so it can remove them). */
  labels: Record<string, string>;
  /** A network made by the test (`--internal`), or undefined: the task's namespace has loopback only. */
  network?: string;
  /** The image that holds the namespace (any image with `sleep`). */
  pauseImage: string;
  /** How long a HEALTHY condition may take before the start fails. */
  healthyTimeoutMs?: number;
}

/** Containers in an order where each comes after those it dependsOn (the order ECS starts them). */
function startOrder(task: TaskDefinition): ContainerDefinition[] {
  const done = new Set<string>();
  const order: ContainerDefinition[] = [];
  const visit = (c: ContainerDefinition, path: string[]): void => {
    if (done.has(c.name)) return;
    if (path.includes(c.name)) throw new Error(`dependsOn cycle: ${[...path, c.name].join(' → ')}`);
    for (const { containerName } of c.dependsOn ?? []) {
      const dependency = task.containerDefinitions.find((d) => d.name === containerName);
      if (!dependency) throw new Error(`${c.name} dependsOn ${containerName}, which the task does not define`);
      visit(dependency, [...path, c.name]);
    }
    done.add(c.name);
    order.push(c);
  };
  for (const c of task.containerDefinitions) visit(c, []);
  return order;
}

interface ContainerState {
  State: {
    Status: string;
    ExitCode: number;
    FinishedAt: string;
    Health?: { Status: Health; Log?: Array<{ Start: string; ExitCode: number; Output: string }> };
  };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startEcsTask(task: TaskDefinition, options: EcsTaskOptions): Promise<EcsTask> {
  const { name, labels, network, pauseImage, healthyTimeoutMs = 120_000 } = options;
  const allLabels = { [TEST_LABEL]: '', ...labels, 'task-helper.test.task': name };
  const prefix = `${Object.values(labels).join('-')}-${name}`.replace(/[^\w.-]/g, '-');

  const pause = await create(`${prefix}-pause`, {
    Image: pauseImage,
    Cmd: ['sleep', 'infinity'],
    Labels: allLabels,
    HostConfig: { NetworkMode: network ?? 'none', Init: true },
  });
  await engine('POST', `/containers/${pause}/start`);
  const pauseState = await engine<ContainerState>('GET', `/containers/${pause}/json`);
  const ip = network ? (pauseState.NetworkSettings.Networks[network]?.IPAddress ?? '') : '127.0.0.1';

  const containers = new Map<string, TaskContainer>();
  const started = new Map<string, Promise<TaskContainer>>();
  let polling = true;

  const healthy = async (dependency: TaskContainer): Promise<void> => {
    const deadline = Date.now() + healthyTimeoutMs;
    for (;;) {
      if (dependency.healthyAt) return;
      const last = dependency.health.at(-1)?.status;
      if (last === 'unhealthy') throw new Error(`${name}/${dependency.definition.name} turned UNHEALTHY at start`);
      if (dependency.exitedEarly !== undefined)
        throw new Error(`${name}/${dependency.definition.name} exited (${dependency.exitedEarly}) at start`);
      if (Date.now() > deadline)
        throw new Error(`${name}/${dependency.definition.name} not HEALTHY within ${healthyTimeoutMs} ms`);
      await wait(100);
    }
  };

  const startContainer = (definition: ContainerDefinition): Promise<TaskContainer> => {
    const existing = started.get(definition.name);
    if (existing) return existing;
    const starting = (async () => {
      for (const { containerName, condition } of definition.dependsOn ?? []) {
        const dependency = await startContainer(task.containerDefinitions.find((d) => d.name === containerName)!);
        if (condition === 'HEALTHY') await healthy(dependency);
        else if (condition !== 'START') throw new Error(`dependsOn condition ${condition} is not modelled here`);
      }
      const id = await create(`${prefix}-${definition.name}`, containerConfig(definition, pause, allLabels));
      await engine('POST', `/containers/${id}/start`);
      const container: TaskContainer = { definition, id, startedAt: Date.now(), health: [], checks: new Map() };
      containers.set(definition.name, container);
      void watch(container);
      return container;
    })();
    started.set(definition.name, starting);
    return starting;
  };

  /** Polls the container's state: health transitions, an early exit, the exit. */
  const watch = async (container: TaskContainer): Promise<void> => {
    while (polling) {
      let state: ContainerState;
      try {
        state = await engine<ContainerState>('GET', `/containers/${container.id}/json`);
      } catch {
        return;
      }
      if (state.State.Status === 'exited') {
        if (container.stopAt === undefined) container.exitedEarly = state.State.ExitCode;
        return;
      }
      // Only while it runs: Docker reports every stopped container that had a check as unhealthy.
      const status = state.State.Health?.Status ?? 'none';
      if (container.health.at(-1)?.status !== status) container.health.push({ status, at: Date.now() });
      if (status === 'healthy' && !container.healthyAt) container.healthyAt = Date.now();
      for (const check of state.State.Health?.Log ?? [])
        container.checks.set(check.Start, {
          start: Date.parse(check.Start),
          exitCode: check.ExitCode,
          output: check.Output.trim(),
        });
      await wait(250);
    }
  };

  const removeAll = async (): Promise<void> => {
    polling = false;
    const ids = [...containers.values()].map((c) => c.id);
    await dockerOk(['rm', '-f', ...ids, pause]);
  };

  try {
    await Promise.all(task.containerDefinitions.map(startContainer));
  } catch (error) {
    await removeAll();
    throw error;
  }

  return {
    name,
    ip,
    containers,
    async stop() {
      for (const definition of startOrder(task).reverse()) {
        const container = containers.get(definition.name)!;
        const timeout = definition.stopTimeout ?? ECS_DEFAULT_STOP_TIMEOUT;
        container.stopAt = Date.now();
        await engine('POST', `/containers/${container.id}/stop?t=${timeout}`, undefined, (timeout + 30) * 1000);
        const state = await engine<ContainerState>('GET', `/containers/${container.id}/json`);
        container.exitCode = state.State.ExitCode;
        container.exitedAt = Date.parse(state.State.FinishedAt);
      }
      await engine('POST', `/containers/${pause}/stop?t=1`);
    },
    logs: async (container) => {
      const { stdout, stderr } = await docker(['logs', containers.get(container)!.id]);
      return stdout + stderr;
    },
    remove: removeAll,
  };
}

async function create(name: string, config: Record<string, unknown>): Promise<string> {
  const { Id } = await engine<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, config);
  return Id;
}

/** The Docker container config the ECS agent makes of a container definition (the fields modelled here). */
function containerConfig(
  definition: ContainerDefinition,
  pause: string,
  labels: Record<string, string>,
): Record<string, unknown> {
  const check = definition.healthCheck && { ...HEALTH_DEFAULTS, ...definition.healthCheck };
  return {
    Image: definition.image,
    ...(definition.command ? { Cmd: definition.command } : {}),
    ...(definition.user ? { User: definition.user } : {}),
    // As the agent sets it in every container (nothing answers there in these namespaces: no route).
    Env: [
      `ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/${definition.name}`,
      ...(definition.environment ?? []).map(({ name, value }) => `${name}=${value}`),
    ],
    Labels: labels,
    ...(check
      ? {
          Healthcheck: {
            Test: check.command,
            Interval: check.interval * SECOND_NS,
            Timeout: check.timeout * SECOND_NS,
            Retries: check.retries,
            StartPeriod: check.startPeriod * SECOND_NS,
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: `container:${pause}`,
      ReadonlyRootfs: definition.readonlyRootFilesystem ?? false,
      Init: definition.linuxParameters?.initProcessEnabled ?? false,
    },
  };
}

export interface TimelineEvent {
  at: number;
  what: string;
}

/** The helper's own log lines worth a timeline row (pino JSON, `time` in ms). */
export function helperEvents(logs: string, task: string): TimelineEvent[] {
  const wanted =
    /^(ready|stop signal received|envoy health check failed.*|traffic stopped.*|drain finished|drain skipped)$/;
  return logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { time: number; msg: string; exitCode?: number })
    .filter((line) => wanted.test(line.msg))
    .map((line) => ({
      at: line.time,
      what: `${task}/task-helper logs "${line.msg}"${line.exitCode === undefined ? '' : ` (exitCode ${line.exitCode})`}`,
    }));
}

/** Each container's start, HEALTHY, SIGTERM and exit. */
export function containerEvents(task: EcsTask): TimelineEvent[] {
  return [...task.containers.values()].flatMap((c) => {
    const who = `${task.name}/${c.definition.name}`;
    return [
      { at: c.startedAt, what: `${who} started` },
      ...(c.healthyAt ? [{ at: c.healthyAt, what: `${who} HEALTHY` }] : []),
      ...c.health.filter((h) => h.status === 'unhealthy').map((h) => ({ at: h.at, what: `${who} UNHEALTHY` })),
      ...(c.stopAt
        ? [
            {
              at: c.stopAt,
              what: `${who}: docker stop -t ${c.definition.stopTimeout ?? ECS_DEFAULT_STOP_TIMEOUT} (SIGTERM)`,
            },
          ]
        : []),
      ...(c.exitedAt ? [{ at: c.exitedAt, what: `${who} exited ${c.exitCode}` }] : []),
    ];
  });
}

/** The events in order, in seconds from `zero`, one per line. */
export function formatTimeline(events: TimelineEvent[], zero: number): string {
  return events
    .sort((x, y) => x.at - y.at)
    .map((e) => `${((e.at - zero) / 1000).toFixed(2).padStart(8)} s  ${e.what}`)
    .join('\n');
}
