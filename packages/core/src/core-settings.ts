import type { SettingDeclaration } from './define.ts';
import { defaults } from './defaults.ts';
import { logLevels, type LogLevel } from './logger.ts';
import { minStopTimeoutMs } from './stop-schedule.ts';
import {
  oneOf,
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
      "seconds ECS allows between SIGTERM and SIGKILL: the container's `stopTimeout` (ECS allows at most 120 on Fargate and documents no maximum on EC2; the helper takes up to 3600). Unset in ECS, it is read from the task definition when the task role may call `ecs:DescribeTasks` and `ecs:DescribeTaskDefinition`, and is ECS's default, 30, when it cannot be read; 120 is the default outside ECS. When the waits do not fit, `DRAIN_DELAY` is cut first",
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
  logLevel: {
    env: 'LOG_LEVEL',
    description: `${logLevels.map((level) => `\`${level}\``).join(', ')}; \`--log-level\` beats it`,
    parse: oneOf(logLevels),
    default: defaults.logLevel as LogLevel,
  },
} as const satisfies Record<string, SettingDeclaration<unknown> & { default: unknown }>;

type CoreSettings = typeof coreSettings;
type CoreValues = { [K in keyof CoreSettings]: CoreSettings[K]['parse'] extends Parser<infer T> ? T : never };

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

/** All of core's settings, with the records `plan` shows. */
export function readCoreSettings(
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): CoreValues & { settings: SettingRecord[] } {
  const stopTimeout = resolveCoreSetting('stopTimeout', options, env);
  const startTimeout = resolveCoreSetting('startTimeout', options, env);
  const logLevel = resolveCoreSetting('logLevel', options, env);
  return {
    stopTimeout: stopTimeout.value,
    startTimeout: startTimeout.value,
    logLevel: logLevel.value,
    settings: [stopTimeout.record, startTimeout.record, logLevel.record],
  };
}
