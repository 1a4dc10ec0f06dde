import { startEnvoySim, startToyApp, type EnvoySim, type EnvoySimOptions, type ToyApp } from '@task-helper/envoy-sim';
import { startHelper, type HelperProcess } from './helper-process.ts';
import { launchEnvoy, realEnvoyConfig, startExampleEnvoy, type EnvoyProcess } from './real-envoy.ts';

/**
 * One ECS task's app and Envoy on loopback, as the helper finds them: the toy app behind the
 * Envoy simulator (the default), behind real Envoy running examples/envoy/envoy.yaml with the
 * example Dockerfile's flags (`envoy: 'example'`), or behind real Envoy on the smallest bootstrap
 * the helper works with (`envoy: 'bare'`: one ingress listener whose stat prefix a test may choose).
 */
export interface Task<E extends EnvoySim | EnvoyProcess = EnvoySim | EnvoyProcess> {
  app: ToyApp;
  envoy: E;
  adminUrl: string;
  /** Where callers and the load balancer send requests: Envoy's ingress listener. */
  listenerUrl: string;
  /** The ingress connection manager's stat prefix. */
  statPrefix: string;
  /** The environment an ECS task would give the helper to reach this app and Envoy. */
  env: Record<string, string>;
  /** When Envoy answered `/healthcheck/fail`, where Envoy records it (the simulator does; real Envoy does not). */
  healthcheckFailAt(): number | undefined;
  /** Health checks Envoy's health check filter has counted so far (`http.<prefix>.tracing.health_check`). */
  healthChecksSeen(): Promise<number>;
  /** Stops Envoy, then the app. */
  close(): Promise<void>;
}

export type SimTask = Task<EnvoySim>;
export type RealTask = Task<EnvoyProcess>;

/** The simulator's options; `healthPath` is the app's too. */
export type SimTaskOptions = EnvoySimOptions & { envoy?: 'sim' };

export type RealTaskOptions =
  /** Flags beside (or replacing, by name) the Dockerfile's, e.g. `['--drain-time-s', '0']`. */
  | { envoy: 'example'; envoyArgs?: string[] }
  /** A dotted `statPrefix` is named in the helper's ENVOY_STAT_PREFIXES; `healthPath` is the app's too. */
  | { envoy: 'bare'; statPrefix?: string; healthPath?: string; envoyArgs?: string[] };

export function startTask(options?: SimTaskOptions): Promise<SimTask>;
export function startTask(options: RealTaskOptions): Promise<RealTask>;
export async function startTask(options: SimTaskOptions | RealTaskOptions = {}): Promise<Task> {
  const healthPath = 'healthPath' in options ? options.healthPath : undefined;
  const app = await startToyApp(healthPath === undefined ? {} : { healthPath });
  try {
    if (options.envoy === 'example') {
      // One worker thread each, so two tasks, HAProxy and the load fit a small shared machine.
      const envoy = await startExampleEnvoy(app.port, { args: ['--concurrency', '1', ...(options.envoyArgs ?? [])] });
      const listenerUrl = envoy.listeners.ingress;
      if (!listenerUrl) {
        await envoy.close();
        throw new Error(
          `examples/envoy/envoy.yaml has no listener named ingress (got ${Object.keys(envoy.listeners).join(', ')})`,
        );
      }
      return task(app, envoy, envoy.adminUrl, listenerUrl, 'ingress', {});
    }
    if (options.envoy === 'bare') {
      const { statPrefix = 'ingress' } = options;
      const envoy = await launchEnvoy({
        config: realEnvoyConfig({ upstreamPort: app.port, statPrefix, ...(healthPath ? { healthPath } : {}) }),
        args: options.envoyArgs ?? [],
      });
      const extra: Record<string, string> = options.statPrefix === undefined ? {} : { ENVOY_STAT_PREFIXES: statPrefix };
      return task(app, envoy, envoy.adminUrl, envoy.listeners.ingress!, statPrefix, extra);
    }
    const { envoy: _, ...simOptions } = options;
    const sim = await startEnvoySim({ upstream: app.url, ...simOptions });
    const simTask = task(app, sim, sim.adminUrl, sim.listenerUrl, simOptions.statPrefix ?? 'ingress', {});
    simTask.healthcheckFailAt = () => sim.calls.find((c) => c.method === 'POST' && c.path === '/healthcheck/fail')?.at;
    return simTask;
  } catch (error) {
    await app.close();
    throw error;
  }
}

function task<E extends EnvoySim | EnvoyProcess>(
  app: ToyApp,
  envoy: E,
  adminUrl: string,
  listenerUrl: string,
  statPrefix: string,
  extraEnv: Record<string, string>,
): Task<E> {
  return {
    app,
    envoy,
    adminUrl,
    listenerUrl,
    statPrefix,
    env: { ENVOY_ADMIN_URL: adminUrl, PORT: String(app.port), ...extraEnv },
    healthcheckFailAt: () => undefined,
    healthChecksSeen: () => healthChecksSeen(adminUrl, statPrefix),
    close: async () => {
      await envoy.close();
      await app.close();
    },
  };
}

async function healthChecksSeen(adminUrl: string, statPrefix: string): Promise<number> {
  const name = `http.${statPrefix}.tracing.health_check`;
  const filter = encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`);
  const { stats } = (await (await fetch(`${adminUrl}/stats?format=json&filter=${filter}`)).json()) as {
    stats: Array<{ name: string; value: number }>;
  };
  return stats.find((s) => s.name === name)?.value ?? Number.NaN;
}

export interface Drain {
  helper: HelperProcess;
  code: number | null;
  sigtermAt: number;
  exitAt: number;
  /** When Envoy answered POST /healthcheck/fail (else when the helper logged it), from SIGTERM; undefined if never. */
  failAfterMs: number | undefined;
  steps: Array<{ plugin: string; hook: string; outcome: string; error?: string; ms: number }>;
}

/** Starts `task-helper run` against `task`, waits for `ready`, sends SIGTERM and waits for the exit. */
export async function drainOnce(task: Task, env: Record<string, string>, args: string[] = []): Promise<Drain> {
  const helper = startHelper(['run', ...args], { env: { ...task.env, ...env } });
  await helper.waitForLog('ready');
  const sigtermAt = helper.kill('SIGTERM');
  const { code, at: exitAt } = await helper.exited;
  const failAt =
    task.healthcheckFailAt() ?? helper.lines.find((l) => l.msg.startsWith('envoy health check failed'))?.at;
  const steps = (helper.lines.find((l) => l.msg === 'drain finished')?.steps ?? []) as Drain['steps'];
  return { helper, code, sigtermAt, exitAt, failAfterMs: failAt && failAt - sigtermAt, steps };
}
