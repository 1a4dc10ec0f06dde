import type { SettingDeclaration } from './define.ts';
import { defaults } from './defaults.ts';
import { logLevels, type LogLevel } from './logger.ts';
import { ConfigError } from './errors.ts';
import { minStopTimeoutMs } from './stop-schedule.ts';
import {
  ipAddress,
  oneOf,
  port,
  resolveSetting,
  seconds,
  settingRecord,
  type Parser,
  type SettingRecord,
  type SettingSpec,
} from './settings.ts';

/**
 * Core's own settings, declared as the plugins declare theirs (the option key is the
 * declaration's key). ECS's container stopTimeout: at most 120 s on Fargate; no maximum documented
 * for EC2, where the agent's ECS_CONTAINER_STOP_TIMEOUT (default 30 s) applies when it is unset.
 * An hour bounds both timeouts: past it a value is a typo, not a plan.
 */
export const coreSettings = {
  stopTimeout: {
    env: 'STOP_TIMEOUT',
    description:
      "seconds ECS allows between SIGTERM and SIGKILL: the container's `stopTimeout` (ECS allows at most 120 on Fargate and documents no maximum on EC2; the helper takes up to 3600). Unset in ECS, it is read from the task definition when the task role may call `ecs:DescribeTasks` and `ecs:DescribeTaskDefinition`, and is ECS's default, 30, when it cannot be read; 120 is the default outside ECS. On Kubernetes (`PRESTOP_PORT` set) it must be set, to the pod's `terminationGracePeriodSeconds`, at least 7: the preStop call's drain answers 2 s before it ends (docs/kubernetes.md). When the waits do not fit, `DRAIN_DELAY` is cut first",
    parse: seconds(120, {
      allowZero: false,
      min: {
        value: minStopTimeoutMs / 1000,
        why: `the least that leaves POST /healthcheck/fail its ${defaults.drainActionMs / 1000} s and the exit its margin; raise the container's ECS stopTimeout with it`,
      },
      max: defaults.maxTimeout,
      why: "set it to the container's ECS stopTimeout: at most 120 on Fargate; EC2 documents no maximum",
    }),
    default: defaults.stopTimeout,
  },
  startTimeout: {
    env: 'START_TIMEOUT',
    description:
      'seconds the start waits (`ENVOY_WAIT_READY`, `APP_WAIT_READY`) may take before the helper carries on: past it the step fails (exit 1), `ready` is logged anyway and the drain still runs. Up to 3600',
    parse: seconds(60, { allowZero: false, max: defaults.maxTimeout, why: 'an hour' }),
    default: defaults.startTimeout,
  },
  preStopPort: {
    env: 'PRESTOP_PORT',
    description:
      "Kubernetes: the port of the preStop endpoint, `GET /prestop`, that the kubelet's `httpGet` preStop hook calls: the first call starts the stop (as SIGTERM would) and every call is answered once the drain is over (`200`, or `500` when a step failed), so the hook holds its container until callers have left. Unset: no endpoint, no server (ECS). Needs `PRESTOP_HOST`, and `STOP_TIMEOUT` set to the pod's `terminationGracePeriodSeconds`",
    parse: port,
    default: undefined as number | undefined,
  },
  preStopHost: {
    env: 'PRESTOP_HOST',
    description:
      "with `PRESTOP_PORT`: the IP address the endpoint listens on, the one the kubelet's `httpGet` connects to (its `host`, by default the pod's IP). On a pod network that is the pod's IP (`$(POD_IP)`, from the downward API's `status.podIP`): the kubelet calls from the node, so it cannot reach the pod's loopback. `127.0.0.1` only with `hostNetwork: true` and the hook's `host: 127.0.0.1`",
    parse: ipAddress,
    default: undefined as string | undefined,
  },
  logLevel: {
    env: 'LOG_LEVEL',
    description: `${logLevels.map((level) => `\`${level}\``).join(', ')}; \`--log-level\` beats it`,
    parse: oneOf(logLevels),
    default: defaults.logLevel as LogLevel,
  },
} as const satisfies Record<string, SettingDeclaration<unknown> & { default: unknown }>;

type CoreSettings = typeof coreSettings;
type CoreValues = {
  [K in keyof CoreSettings]: CoreSettings[K]['parse'] extends Parser<infer T> ? T | CoreSettings[K]['default'] : never;
};

/** One of core's settings: environment variable, then the config file's option, then the default. */
export function resolveCoreSetting<K extends keyof CoreSettings>(
  key: K,
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): { value: CoreValues[K]; record: SettingRecord } {
  const {
    env: variable,
    parse,
    default: fallback,
  } = coreSettings[key] as SettingDeclaration<unknown> & {
    default: unknown;
  };
  const spec: SettingSpec<unknown> = { option: key, env: variable, parse, fallback };
  const { value, source } = resolveSetting(spec, options, env);
  return { value: value as CoreValues[K], record: settingRecord(undefined, spec, value, source) };
}

/** Where the preStop endpoint listens (Kubernetes); undefined: no endpoint. */
export interface PreStopAddress {
  host: string;
  port: number;
}

/** All of core's settings, with the records `plan` shows. */
export function readCoreSettings(
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): Pick<CoreValues, 'stopTimeout' | 'startTimeout' | 'logLevel'> & {
  preStop: PreStopAddress | undefined;
  settings: SettingRecord[];
} {
  const stopTimeout = resolveCoreSetting('stopTimeout', options, env);
  const startTimeout = resolveCoreSetting('startTimeout', options, env);
  const preStopPort = resolveCoreSetting('preStopPort', options, env);
  const preStopHost = resolveCoreSetting('preStopHost', options, env);
  const logLevel = resolveCoreSetting('logLevel', options, env);
  return {
    stopTimeout: stopTimeout.value,
    startTimeout: startTimeout.value,
    logLevel: logLevel.value,
    preStop: preStopAddress(preStopHost.value, preStopPort.value, stopTimeout),
    settings: [stopTimeout.record, startTimeout.record, preStopPort.record, preStopHost.record, logLevel.record],
  };
}

/**
 * The endpoint's address, or none; the settings it needs beside it, or one line saying which to
 * set. STOP_TIMEOUT has no default here: ECS's 120 would be a silent, wrong plan for a pod (whose
 * grace period defaults to 30), and the kubelet keeps 2 s of it after the hook.
 */
function preStopAddress(
  host: string | undefined,
  port: number | undefined,
  stopTimeout: { value: number; record: SettingRecord },
): PreStopAddress | undefined {
  if (port === undefined && host === undefined) return undefined;
  if (host === undefined)
    throw new ConfigError(
      "PRESTOP_PORT is set but PRESTOP_HOST is not: set PRESTOP_HOST to the pod's IP (env POD_IP from the downward API's status.podIP, then PRESTOP_HOST=$(POD_IP)), where the kubelet's preStop httpGet connects",
    );
  if (port === undefined)
    throw new ConfigError(
      'PRESTOP_HOST is set but PRESTOP_PORT is not: set PRESTOP_PORT to the port of the preStop httpGet that calls the helper, or unset PRESTOP_HOST',
    );
  if (stopTimeout.record.source === 'default')
    throw new ConfigError(
      "PRESTOP_PORT is set but STOP_TIMEOUT is not: set STOP_TIMEOUT to the pod's terminationGracePeriodSeconds (Kubernetes' default is 30), the budget the preStop hook and the containers' stops share",
    );
  const least = (minStopTimeoutMs + defaults.kubeletMinGraceMs) / 1000;
  if (stopTimeout.value < least)
    throw new ConfigError(
      `STOP_TIMEOUT=${stopTimeout.value} is too short with PRESTOP_PORT: the kubelet keeps ${defaults.kubeletMinGraceMs / 1000} s of the grace period for the held container after the hook, and the drain needs ${minStopTimeoutMs / 1000} s; raise terminationGracePeriodSeconds and STOP_TIMEOUT to at least ${least}`,
    );
  return { host, port };
}
