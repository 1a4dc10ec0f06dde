import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { DeregisterInstanceCommand } from '@aws-sdk/client-servicediscovery';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startCloudMapEds, type CloudMapEds } from './cloud-map-eds.ts';
import type { MetadataServer } from './ecs-metadata.ts';
import { createEcsServiceWorld, type EcsServiceWorld, type ServiceTask } from './ecs-service.ts';
import { startThrottlingProxy, type FaultProxy } from './fault-proxy.ts';
import { startEdsCaller, type EdsCaller } from './eds-caller.ts';
import { spawnHelper, type HelperProcess } from './helper-process.ts';
import { startLoad, summarizeLoad, type Failure, type Load, type LoadOptions, type LoadStats } from './load.ts';
import type { Moto } from './moto.ts';
import { pollUntil } from './poll.ts';
import { startTask, type RealTask } from './task.ts';

/**
 * A rolling deploy of an ECS service whose callers find it through Cloud Map, end to end on
 * loopback (used by test/e2e/aws-rolling-deploy.test.ts and bench/deploy.ts):
 * - moto holds the ECS service (desired count 2, PRIMARY deployment) and its Cloud Map service
 *   (ecs-service.ts); a control-plane stand-in polls Cloud Map every `pollMs` (cloud-map-eds.ts) and
 *   rewrites the EDS file of a caller Envoy that health-checks every endpoint (eds-caller.ts);
 * - two old tasks serve (each: the toy app, real Envoy on examples/envoy/envoy.yaml, and the
 *   helper with `helperEnv`, its AWS calls counted by a proxy in front of moto), in moto's ECS as the
 *   first deployment's tasks and in Cloud Map; steady load goes through the caller;
 * - the deploy: UpdateService makes a new PRIMARY deployment, its tasks start (app, Envoy, helper)
 *   and run in moto's ECS; right after one of the stand-in's polls (the worst moment: callers learn
 *   of what registers next only a whole poll interval later) the replacements due at 0 register in
 *   Cloud Map and the old tasks get SIGTERM (ECS stops old tasks once their replacements are
 *   healthy); a replacement due later registers that many ms after the SIGTERM;
 * - as ECS does, each old task's Envoy and app stop as soon as its helper exits, and moto's ECS
 *   records the task stopped (and out of Cloud Map, where the helper has not taken it out itself).
 * The load keeps going until the caller routes only to the tasks left and `tailRequests` more
 * requests completed; every failed request is reported.
 */

export interface RollingDeployOptions {
  moto: Moto;
  /** The old tasks' drain settings; the rig sets the rest (addresses, metadata, AWS endpoint, CLOUD_MAP_SERVICE_ID, STOP_TIMEOUT). */
  helperEnv: Record<string, string>;
  /** Per new task, when it registers in Cloud Map, in ms after the SIGTERM (0: as the old tasks are stopped); empty: none comes up. */
  replacementsAfterMs?: number[];
  /** How many old tasks get SIGTERM; the others keep serving. */
  stopping?: number;
  /** The control plane's Cloud Map poll interval. */
  pollMs?: number;
  load?: LoadOptions;
  tailRequests?: number;
  warmupPerTask?: number;
  /** Longest a helper may take to exit after SIGTERM before the run fails. */
  maxStopMs?: number;
}

interface StoppedTask {
  name: string;
  taskId: string;
  helper: HelperProcess;
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number };
  /** SIGTERM to helper exit. */
  stopMs: number;
  /** When the helper logged `/healthcheck/fail` answered; undefined if it never did. */
  failAt: number | undefined;
  /** When the task stopped taking new connections: Envoy's inbound listeners closed (ENVOY_CLOSE_INBOUND), else the exit. */
  goneAt: number;
  /** The helper's AWS calls from SIGTERM to its exit (counted at the proxy), in order. */
  awsCalls: string[];
}

export interface RollingDeployResult {
  sigtermAt: number;
  stopped: StoppedTask[];
  /** Each new task: when it registered (HEALTHY) in Cloud Map, and when the stand-in first wrote it to the caller's EDS. */
  replacements: Array<{ name: string; taskId: string; registeredAt: number; learnedAt: number | undefined }>;
  /** When the last replacement registered healthy; undefined without replacements. */
  replacementsHealthyAt: number | undefined;
  pollMs: number;
  load: LoadStats;
  /** Every request that did not get a 200. */
  failures: Failure[];
  /** A multi-line account for assertion messages: timeline, failures, the helpers' lines. */
  describe(): string;
}

/**
 * The helpers run the image's bundle (scripts/build.ts; the aws tier's global setup and
 * bench/deploy.ts build it first), as a task does: six helpers start here, and from the sources
 * each takes about 4 times the CPU to start, enough on a busy machine to make one miss its 1 s
 * task-metadata read.
 */
const BUNDLE = path.resolve(import.meta.dirname, '../../dist/task-helper');
const BUNDLED_CLI = path.join(BUNDLE, 'node_modules/@task-helper/cli/dist/cli.mjs');
const METADATA_MISSED =
  'task metadata could not be read: carrying on without the task identity (plugins that need it will say so)';

const defaults = Object.freeze({
  replacementsAfterMs: [0, 0],
  stopping: 2,
  pollMs: 2_000,
  tailRequests: 200,
  warmupPerTask: 20,
  maxStopMs: 60_000,
});

interface RunningTask {
  name: string;
  ecsTask: ServiceTask;
  taskId: string;
  task: RealTask;
  metadata: MetadataServer;
  helper: HelperProcess;
  address: string;
}

export async function runRollingDeploy(options: RollingDeployOptions): Promise<RollingDeployResult> {
  const { moto, helperEnv } = options;
  const { replacementsAfterMs, stopping, pollMs, tailRequests, warmupPerTask, maxStopMs } = {
    ...defaults,
    ...options,
  };
  const tasks: RunningTask[] = [];
  // In front of moto, throttling nothing: each old helper's calls, as they went over the wire (SDK retries included).
  const counters: FaultProxy[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let service: EcsServiceWorld | undefined;
  let eds: CloudMapEds | undefined;
  let caller: EdsCaller | undefined;
  let load: Load | undefined;
  const names = new Map<string, string>();

  // One task's processes, its metadata endpoint and, for an old task, its helper's counting proxy.
  const startEcsTask = async (name: string, deploymentId: string, env: (taskId: string) => Record<string, string>) => {
    const ecsTask = await service!.runTask(deploymentId);
    const { taskId } = ecsTask;
    const task = await startTask({ envoy: 'example' });
    const running: Partial<RunningTask> = { name, ecsTask, taskId, task, address: new URL(task.listenerUrl).host };
    tasks.push(running as RunningTask);
    running.metadata = await service!.metadataFor(ecsTask);
    running.helper = spawnHelper([BUNDLED_CLI, 'run'], {
      cwd: BUNDLE,
      env: { ...task.env, ECS_CONTAINER_METADATA_URI_V4: running.metadata.uri, STOP_TIMEOUT: '120', ...env(taskId) },
    });
    names.set(running.address!, name);
    return running as RunningTask;
  };

  if (!existsSync(BUNDLED_CLI)) throw new Error(`no bundle at ${BUNDLED_CLI}: run node scripts/build.ts first`);
  try {
    await moto.reset();
    service = await createEcsServiceWorld(moto, { desiredCount: 2 });
    const oldDeployment = await service.primary();
    const old: RunningTask[] = [];
    for (const name of ['old-1', 'old-2']) {
      const counter = await startThrottlingProxy(moto.url, []);
      counters.push(counter);
      const running = await startEcsTask(name, oldDeployment, () => ({
        ...moto.env,
        AWS_ENDPOINT_URL: counter.url,
        CLOUD_MAP_SERVICE_ID: service!.cloudMapServiceId,
        ...helperEnv,
      }));
      await service.register(running.ecsTask, {
        ip: '127.0.0.1',
        port: Number(new URL(running.task.listenerUrl).port),
      });
      old.push(running);
    }
    await Promise.all(old.map((t) => t.helper.waitForLog('ready', 20_000)));
    // Without its task identity a helper has neither a Cloud Map instance nor an ECS service: the run would not be a deploy.
    const blind = old.find((t) => t.helper.lines.some((l) => l.msg === METADATA_MISSED));
    if (blind)
      throw new Error(`${blind.name}'s helper could not read its task metadata at start (the machine too busy?)`);

    eds = await startCloudMapEds(moto, {
      namespaceName: service.namespaceName,
      serviceName: service.cloudMapServiceName,
      intervalMs: pollMs,
    });
    caller = await startEdsCaller({ edsPath: eds.path, clusterName: eds.clusterName });
    await waitForRouting(caller, old, 15_000);

    load = startLoad(caller.url, options.load);
    await load.waitFor(
      (s) => old.every((t) => (s.okByServer[t.address] ?? 0) >= warmupPerTask),
      10_000,
      'both old tasks serving through the caller',
    );

    // The deploy: a new PRIMARY deployment whose tasks start (ECS registers them in Cloud Map once they are up).
    const newDeployment = await service.newDeployment();
    const fresh: RunningTask[] = [];
    for (const [i] of replacementsAfterMs.entries())
      fresh.push(await startEcsTask(`new-${i + 1}`, newDeployment, () => ({})));
    await Promise.all(fresh.map((t) => t.helper.waitForLog('ready', 20_000)));

    const registrations: Array<Promise<void>> = [];
    const replacements: RollingDeployResult['replacements'] = [];
    const register = async (t: RunningTask) => {
      await service!.register(t.ecsTask, { ip: '127.0.0.1', port: Number(new URL(t.task.listenerUrl).port) });
      replacements.push({ name: t.name, taskId: t.taskId, registeredAt: Date.now(), learnedAt: undefined });
    };
    await eds.nextPoll();
    for (const [i, t] of fresh.entries()) if (replacementsAfterMs[i] === 0) await register(t);
    const stoppingTasks = old.slice(0, stopping);
    const callsBefore = counters.map((c) => c.actions.length);
    const sigtermAt = Date.now();
    for (const t of stoppingTasks) t.helper.kill('SIGTERM');
    for (const [i, t] of fresh.entries()) {
      const after = replacementsAfterMs[i]!;
      if (after === 0) continue;
      registrations.push(
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            register(t).then(resolve, reject);
          }, after);
          timers.add(timer);
        }),
      );
    }

    const stopped = await Promise.all(
      stoppingTasks.map(async (t): Promise<StoppedTask> => {
        const exit = await exitWithin(t.helper, maxStopMs);
        await stopAfterHelper(t);
        await recordStopped(service!, t);
        const i = old.indexOf(t);
        return {
          name: t.name,
          taskId: t.taskId,
          helper: t.helper,
          exit,
          stopMs: exit.at - sigtermAt,
          failAt: t.helper.lines.find((l) => l.msg === 'envoy health check failed: callers will stop routing here')?.at,
          goneAt:
            t.helper.lines.find((l) => l.msg === 'envoy inbound listeners closed: new connections refused')?.at ??
            exit.at,
          awsCalls: counters[i]!.actions.slice(callsBefore[i]),
        };
      }),
    );
    await Promise.all(registrations);

    const serving = [...old.slice(stopping), ...fresh];
    await waitForRouting(caller, serving, 3 * pollMs + 10_000, stoppingTasks);
    const completed = load.stats.completed;
    await load.waitFor(
      (s) => s.completed >= completed + tailRequests,
      10_000,
      `${tailRequests} requests after the deploy`,
    );
    const stats = await load.stop();
    load = undefined;

    for (const r of replacements) r.learnedAt = eds.learnedAt(r.taskId, r.registeredAt);
    const replacementsHealthyAt = replacements.length
      ? Math.max(...replacements.map((r) => r.registeredAt))
      : undefined;
    const polls = eds.polls.filter((p) => p.at >= sigtermAt - pollMs);
    return {
      sigtermAt,
      stopped,
      replacements,
      replacementsHealthyAt,
      pollMs,
      load: stats,
      failures: stats.failures,
      describe: () => {
        const t = (at: number | undefined) => (at === undefined ? 'never' : `+${at - sigtermAt} ms`);
        return [
          `load: ${summarizeLoad(stats)}`,
          `served by: ${Object.entries(stats.okByServer)
            .map(([address, n]) => `${names.get(address) ?? address} ${n}`)
            .join(', ')}`,
          `SIGTERM to ${stopped.map((s) => s.name).join(', ')} at +0 ms`,
          ...replacements.map(
            (r) => `${r.name} registered in Cloud Map ${t(r.registeredAt)}, in the caller's EDS ${t(r.learnedAt)}`,
          ),
          ...stopped.map(
            (s) =>
              `${s.name}: /healthcheck/fail ${t(s.failAt)}, connections refused ${t(s.goneAt)}, exit ${t(s.exit.at)} (code ${s.exit.code}); AWS calls after SIGTERM: ${s.awsCalls.join(' ') || 'none'}`,
          ),
          `stand-in polls: ${polls.map((p) => `${t(p.at)} [${p.instanceIds.length}]`).join(', ')}`,
          ...stats.failures
            .slice(0, 10)
            .map((f) => `failure: ${JSON.stringify({ ...f, startedAt: t(f.startedAt), at: t(f.at) })}`),
          ...stopped.flatMap((s) => s.helper.lines.map((l) => `${s.name}: ${JSON.stringify({ ...l, at: t(l.at) })}`)),
        ].join('\n');
      },
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await load?.stop();
    for (const t of tasks) {
      if (t.helper && t.helper.child.exitCode === null && t.helper.child.signalCode === null) t.helper.kill('SIGKILL');
    }
    await caller?.close();
    await eds?.close();
    await Promise.all(tasks.map(async (t) => Promise.all([t.task.close(), t.metadata?.close()])));
    await Promise.all(counters.map((c) => c.close()));
    service?.close();
  }
}

/** ECS records the task stopped and takes it out of Cloud Map (the helper may have marked it unhealthy there already). */
async function recordStopped(service: EcsServiceWorld, t: RunningTask): Promise<void> {
  await service.ecs.send(new StopTaskCommand({ cluster: service.cluster, task: t.ecsTask.taskArn, reason: 'deploy' }));
  try {
    await service.cloudMap.send(
      new DeregisterInstanceCommand({ ServiceId: service.cloudMapServiceId, InstanceId: t.taskId }),
    );
  } catch (error) {
    // The helper's cloud-map plugin deregistered it itself.
    if ((error as Error).name !== 'InstanceNotFound') throw error;
  }
}

/** Until the caller routes to every task of `serving` and to none of `gone`. */
async function waitForRouting(
  caller: EdsCaller,
  serving: RunningTask[],
  timeoutMs: number,
  gone: RunningTask[] = [],
): Promise<void> {
  await pollUntil(
    `the caller routing to ${serving.map((t) => t.name).join(', ')} only`,
    async () => {
      const hosts = await caller.hosts();
      const healthy = new Set(hosts.filter((h) => h.healthy).map((h) => h.address));
      const ok = serving.every((t) => healthy.has(t.address)) && gone.every((t) => !healthy.has(t.address));
      if (!ok) throw new Error(`caller hosts: ${JSON.stringify(hosts)}`);
      return true;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

async function exitWithin(helper: HelperProcess, maxStopMs: number): Promise<StoppedTask['exit']> {
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `helper still running ${maxStopMs} ms after SIGTERM:\n${helper.lines.map((l) => JSON.stringify(l)).join('\n')}`,
          ),
        ),
      maxStopMs,
    );
  });
  try {
    return await Promise.race([helper.exited, tooLong]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * ECS stops the containers the helper dependsOn once it exits. An Envoy the helper told to quit
 * (ENVOY_QUIT) gets up to 2 s to exit by itself first, as in drain-scenario.ts.
 */
async function stopAfterHelper(t: RunningTask): Promise<void> {
  if (t.helper.lines.some((l) => l.msg === 'envoy told to quit')) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([t.task.envoy.exited, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
  }
  await t.task.close();
}
