// DRAIN_DELAY_UNTIL=replacements, as the cloud-map plugin offers it: its three settings, the checks
// at start, and the beforeDrain tap that watches the service in the background and ends
// plugin-delay's DRAIN_DELAY wait (through REPLACEMENTS_IN_SERVICE) once the rule holds.
import {
  ConfigError,
  firstLine,
  METADATA_ENV,
  oneOf,
  seconds,
  Stage,
  type Parser,
  type PluginHooks,
  type StopContext,
  type TaskMetadata,
} from '@task-helper/core';
import type { AwsClientSettings } from './aws-settings.ts';
import { pollDefaults, ReplacementsRule, watchReplacements } from './replacements.ts';
import { NotReplaceable, openServiceSource, REPLACEMENTS_ACTIONS } from './service-view.ts';

/**
 * DISCOVERY_PROPAGATION for a Cloud Map service without DNS records (callers use DiscoverInstances,
 * through a mesh control plane): two 5 s loops (the Istio Cloud Map operator polls
 * DiscoverInstances every 5 s and syncs its result every 5 s), plus the push to the callers'
 * Envoys. Sources in docs/aws.md.
 */
const API_ONLY_PROPAGATION_S = 15;

const count: Parser<number> = {
  expected: 'a whole number of instances from 1 to 1000 (what one DiscoverInstances call returns)',
  parse: (raw, fromEnv) => {
    const value = fromEnv && typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1000 ? value : undefined;
  },
};

export const drainDelayUntilSettings = {
  drainDelayUntil: {
    env: 'DRAIN_DELAY_UNTIL',
    description:
      "`replacements`: end `DRAIN_DELAY` (plugin-delay) early, once at least `REPLACEMENTS_MIN` instances other than this task are HEALTHY in the Cloud Map service (`CLOUD_MAP_SERVICE_ID`) and belong to the ECS service's PRIMARY deployment, each seen healthy for `DISCOVERY_PROPAGATION`; `DRAIN_DELAY` stays the ceiling, and any AWS failure lets it run in full. Needs ECS (the task metadata). `off`: `DRAIN_DELAY` always runs in full",
    parse: oneOf(['off', 'replacements']),
    default: 'off',
  },
  replacementsMin: {
    env: 'REPLACEMENTS_MIN',
    description:
      "with `DRAIN_DELAY_UNTIL=replacements`: how many other healthy instances of the PRIMARY deployment the service needs before it can lose this task; default the ECS service's `desiredCount`, read at the stop (`ecs:DescribeServices`)",
    parse: count,
  },
  discoveryPropagation: {
    env: 'DISCOVERY_PROPAGATION',
    description: `with \`DRAIN_DELAY_UNTIL=replacements\`: seconds each replacement must have been seen healthy, for callers to learn about it; default the Cloud Map service's DNS TTL (its longest record's, read at the stop with \`GetService\`), or ${API_ONLY_PROPAGATION_S} s when it has no DNS records (callers that poll \`DiscoverInstances\` through a mesh control plane)`,
    parse: seconds(10, { max: 3_600, why: 'an hour' }),
  },
} as const;

export interface UntilReplacements {
  aws: AwsClientSettings;
  task: TaskMetadata | undefined;
  serviceId: string | undefined;
  instanceId: string | undefined;
  drainDelayUntil: 'off' | 'replacements';
  replacementsMin: number | undefined;
  discoveryPropagation: number | undefined;
}

/** Refuses at start what cannot work: the one-line ConfigError names the setting and the fix. */
export function checkUntilReplacements(
  s: Omit<UntilReplacements, 'aws' | 'task'>,
  env: NodeJS.ProcessEnv,
): s is Omit<UntilReplacements, 'aws' | 'task'> & { drainDelayUntil: 'replacements'; serviceId: string } {
  if (s.drainDelayUntil === 'off') {
    const stray =
      s.replacementsMin !== undefined
        ? 'REPLACEMENTS_MIN'
        : s.discoveryPropagation !== undefined
          ? 'DISCOVERY_PROPAGATION'
          : undefined;
    if (stray !== undefined)
      throw new ConfigError(
        `${stray} is set but DRAIN_DELAY_UNTIL is off, so nothing reads it: set DRAIN_DELAY_UNTIL=replacements, or unset ${stray}`,
      );
    return false;
  }
  if (s.serviceId === undefined)
    throw new ConfigError(
      "DRAIN_DELAY_UNTIL=replacements needs the Cloud Map service callers find this task in: set CLOUD_MAP_SERVICE_ID (srv-…, the end of the ECS service's serviceRegistries[].registryArn), or unset DRAIN_DELAY_UNTIL",
    );
  if (!env[METADATA_ENV])
    throw new ConfigError(
      `DRAIN_DELAY_UNTIL=replacements reads this task's ECS service and deployment, so it needs ECS (${METADATA_ENV} unset): run the helper in the ECS task, or unset DRAIN_DELAY_UNTIL`,
    );
  return true;
}

/** The rule and where its values come from, for `plan`. */
function planDetails(s: UntilReplacements & { serviceId: string }): string[] {
  return [
    `DRAIN_DELAY ends once ≥ REPLACEMENTS_MIN instances other than this task are HEALTHY in Cloud Map service ${s.serviceId} (DiscoverInstances) and belong to the ECS service's PRIMARY deployment (their tasks' startedBy), each seen healthy for DISCOVERY_PROPAGATION; DRAIN_DELAY stays the ceiling`,
    s.replacementsMin === undefined
      ? "REPLACEMENTS_MIN: the ECS service's desiredCount, read at the stop (ecs:DescribeServices; the service is this task's group, from ecs:DescribeTasks)"
      : `REPLACEMENTS_MIN: ${s.replacementsMin} (set)`,
    s.discoveryPropagation === undefined
      ? `DISCOVERY_PROPAGATION: the Cloud Map service's longest DNS TTL, read at the stop (servicediscovery:GetService); ${API_ONLY_PROPAGATION_S} s without DNS records`
      : `DISCOVERY_PROPAGATION: ${s.discoveryPropagation} s (set)`,
    `reads: DiscoverInstances every ${pollDefaults.pollMs / 1000} s ± ${pollDefaults.jitter * 100} %, DescribeServices every 5th read, DescribeTasks once per new instance; any AWS failure: one warning, and DRAIN_DELAY runs in full`,
    `IAM (task role): ${REPLACEMENTS_ACTIONS.join(', ')}`,
  ];
}

/**
 * Taps beforeDrain after the app check (a task that never came up loads no SDK) and before
 * DRAIN_DELAY starts; the watch runs in the background until the rule holds or beforeDrain is over.
 */
export function tapUntilReplacements(hooks: PluginHooks, s: UntilReplacements & { serviceId: string }): void {
  hooks.beforeDrain.tapPromise(
    {
      stage: Stage.BEFORE_DRAIN_PREPARE,
      plan: {
        label: `DRAIN_DELAY_UNTIL=replacements: watch Cloud Map service ${s.serviceId} and the ECS service, to end DRAIN_DELAY early`,
        details: planDetails(s),
      },
    },
    async (ctx) => void watchInBackground(ctx, s),
  );
}

async function watchInBackground(ctx: StopContext, s: UntilReplacements & { serviceId: string }): Promise<void> {
  const started = Date.now();
  const fields = { serviceId: s.serviceId };
  const counter = { calls: 0 };
  try {
    if (s.task === undefined)
      throw new NotReplaceable('the task metadata could not be read at start, so neither can its ECS service');
    const source = await openServiceSource(ctx, s.aws, s.task, s.serviceId, s.instanceId ?? s.task.taskId, counter);
    try {
      const propagationS = s.discoveryPropagation ?? source.dnsTtl ?? API_ONLY_PROPAGATION_S;
      const rule = new ReplacementsRule(propagationS * 1000, s.replacementsMin);
      const { held, state } = await watchReplacements(ctx, source.read, rule, {
        ...fields,
        service: source.service,
      });
      const counts = state === undefined ? {} : { replacements: state.replacements, required: state.required };
      const common = {
        ...fields,
        service: source.service,
        ...counts,
        discoveryPropagation: propagationS,
        propagationSource:
          s.discoveryPropagation !== undefined ? 'setting' : source.dnsTtl !== undefined ? 'dns ttl' : 'default',
        sinceSignalMs: Date.now() - ctx.signalAt,
        awsCalls: counter.calls,
      };
      if (held) ctx.logger.info({ ...common, ms: Date.now() - started }, 'replacements in service: DRAIN_DELAY ends');
      // DRAIN_DELAY (or the budget) ended first: no failure, but the bench and Logs Insights want the calls it took.
      else ctx.logger.info({ ...common, open: state?.open }, 'replacements watch over: DRAIN_DELAY ran out first');
    } finally {
      source.close();
    }
  } catch (error) {
    // The end of beforeDrain (DRAIN_DELAY over) aborts a call in flight: that is no failure.
    if (ctx.abortSignal.aborted) {
      ctx.logger.info(
        { ...fields, awsCalls: counter.calls, sinceSignalMs: Date.now() - ctx.signalAt },
        'replacements watch over: DRAIN_DELAY ran out first',
      );
      return;
    }
    ctx.logger.warn(
      { ...fields, error: firstLine(error), awsCalls: counter.calls, sinceSignalMs: Date.now() - ctx.signalAt },
      'replacements not watched: DRAIN_DELAY runs in full',
    );
  }
}
