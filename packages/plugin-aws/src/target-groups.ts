import {
  ConfigError,
  definePlugin,
  listOf,
  METADATA_ENV,
  port,
  Stage,
  type PluginOptions,
  type ResolvedConfig,
  type StopContext,
} from '@task-helper/core';
import { explainAwsError, type CallFix } from './aws-error.ts';
import {
  awsClientSettings,
  awsDefaults,
  awsSettings,
  clientConfig,
  matching,
  type AwsClientSettings,
} from './aws-settings.ts';
import { pollUntil } from './poll.ts';

const NAME = 'target-groups';
const ARN = /^arn:aws[\w-]*:elasticloadbalancing:([a-z0-9-]+):\d{12}:targetgroup\/[\w-]+\/[0-9a-f]+$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
/** `draining`: the load balancer sends it no new request; `unused`: it is no target at all. */
const GONE = new Set(['draining', 'unused']);
/** DescribeTargetHealth's reason for a target outside the group (state `unused` on AWS, `unavailable` on moto). */
const NOT_REGISTERED = 'Target.NotRegistered';

/**
 * In `drain`, right after Envoy's `/healthcheck/fail` and beside the DRAIN_TIMEOUT wait,
 * deregisters this task from its load balancers' target groups and waits until they report it
 * draining (or gone).
 */
const targetGroups = definePlugin({
  name: NAME,
  settings: {
    targetGroupArns: {
      env: 'TARGET_GROUP_ARNS',
      description:
        'the ELB target groups (type `ip`) to deregister this task from right after `/healthcheck/fail` and beside `DRAIN_TIMEOUT`, waiting until each reports it `draining` (or no target at all); comma-separated in the environment. Unset: the plugin does nothing (and loads no SDK)',
      parse: listOf('target group ARNs (comma-separated in the environment)', ARN),
    },
    port: {
      env: 'TARGET_PORT',
      description:
        "the port the target is registered with (the `containerPort` in the service's `loadBalancers`); required with `TARGET_GROUP_ARNS`",
      parse: port,
    },
    ip: {
      env: 'TARGET_IP',
      description: "the target's address; default the task's private IPv4 address from the task metadata",
      parse: matching('an IPv4 address such as 10.0.1.17', IPV4),
      default: (_settings: unknown, config: ResolvedConfig) => config.task?.privateIpv4,
    },
    // Outside ECS, the first target group's region.
    ...awsSettings(({ targetGroupArns }) =>
      Array.isArray(targetGroupArns) ? ARN.exec(targetGroupArns[0] as string)?.[1] : undefined,
    ),
  },
  apply(hooks, { settings, config, env }) {
    const { targetGroupArns: arns, port: targetPort, ip } = settings;
    if (arns === undefined) return;
    if (targetPort === undefined)
      throw new ConfigError(
        "TARGET_GROUP_ARNS is set but TARGET_PORT is not: set it to the port the target groups send to (the containerPort in the service's loadBalancers)",
      );
    if (ip === undefined && !env[METADATA_ENV])
      throw new ConfigError(
        `TARGET_GROUP_ARNS is set but this task's IP address is unknown: run in ECS (${METADATA_ENV}) or set TARGET_IP`,
      );
    const aws = awsClientSettings(NAME, settings, config.task);
    const label = `deregister ${ip ?? '(task IP)'}:${targetPort} from ${arns.length} target group${arns.length === 1 ? '' : 's'}, beside the drain`;
    hooks.drain.tapPromise(
      { stage: Stage.DRAIN_DEREGISTER, beside: true, timeout: awsDefaults.tapTimeoutMs, plan: { label } },
      async (ctx) => {
        if (ip === undefined)
          throw new Error(
            `this task's IP address is unknown (the task metadata could not be read at start): set TARGET_IP`,
          );
        await leaveTargetGroups(ctx, aws, arns, { Id: ip, Port: targetPort });
      },
    );
  },
});
export default targetGroups;

export type TargetGroupsOptions = PluginOptions<typeof targetGroups.settings>;

async function leaveTargetGroups(
  ctx: StopContext,
  aws: AwsClientSettings,
  arns: string[],
  target: { Id: string; Port: number },
): Promise<void> {
  const started = Date.now();
  // Loaded here, after /healthcheck/fail went out: 180–740 ms and about 29 MB (measured from the
  // sources) that the idle helper never pays. `.default`
  // is module.exports (CommonJS), the one form both Node and the bundle give.
  const elb = (await import('@aws-sdk/client-elastic-load-balancing-v2')).default;
  const client = new elb.ElasticLoadBalancingV2Client(clientConfig(aws));
  const fix = (api: string, on: string): CallFix => ({
    api,
    permission: `elasticloadbalancing:${api}`,
    resource: on,
    endpoint: 'elasticloadbalancing',
  });
  const send = async <T>(how: CallFix, request: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> => {
    try {
      return await request({ abortSignal: ctx.abortSignal });
    } catch (error) {
      throw explainAwsError(error, how, aws.region);
    }
  };
  // DescribeTargetHealth takes no resource ARN in IAM: it must be allowed on "*".
  const health = async (arn: string) => {
    const { TargetHealthDescriptions } = await send(fix('DescribeTargetHealth', '*'), (o) =>
      client.send(new elb.DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [target] }), o),
    );
    return TargetHealthDescriptions?.[0]?.TargetHealth;
  };
  const gone = (h: { State?: string; Reason?: string } | undefined) =>
    h !== undefined && (h.Reason === NOT_REGISTERED || (h.State !== undefined && GONE.has(h.State)));
  const leave = async (arn: string): Promise<void> => {
    // Read first: whether ECS deregistered the target before this drain is what decides if
    // DRAIN_DELAY is needed for the load balancer's callers (docs/aws.md), and AWS's
    // DeregisterTargets answers success for a target that is not registered, so only this read can tell.
    const before: { state: string; reason?: string; gone: boolean } = await health(arn).then(
      (h) => ({ state: h?.State ?? 'unknown', ...(h?.Reason ? { reason: h.Reason } : {}), gone: gone(h) }),
      (error: Error) => ({ state: `unknown (${error.message})`, gone: false }),
    );
    const sinceSignalMs = Date.now() - ctx.signalAt;
    let state = before.state;
    if (!before.gone) {
      await send(fix('DeregisterTargets', arn), (o) =>
        client.send(new elb.DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [target] }), o),
      );
      state = await pollUntil(
        ctx,
        async () => {
          const now = await health(arn);
          return gone(now) ? (now?.State ?? 'unused') : undefined;
        },
        () => `${target.Id}:${target.Port} was still not draining in ${arn} when the step had to end`,
      );
    }
    ctx.logger.info(
      {
        targetGroupArn: arn,
        target: `${target.Id}:${target.Port}`,
        state,
        found: before.state,
        ...(before.reason ? { foundReason: before.reason } : {}),
        outBeforeDrain: before.gone,
        sinceSignalMs,
        ...(before.gone ? { note: alreadyOut(before) } : {}),
        ms: Date.now() - started,
      },
      'target deregistered: the load balancer sends it no new request',
    );
  };
  try {
    // Each group on its own: one failing group must not keep the task in the others.
    const results = await Promise.allSettled(arns.map(leave));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length > 0) throw failed.length === 1 ? failed[0]! : new Error(failed.map((e) => e.message).join(' | '));
  } finally {
    client.destroy();
  }
}

/** Why a target found out of service at the drain's start needs nothing more (DescribeTargetHealth's reason codes). */
function alreadyOut({ state, reason }: { state: string; reason?: string }): string {
  if (reason === NOT_REGISTERED)
    return (
      'was not registered when the drain started: ECS deregisters a service task, and waits out the deregistration delay, before it stops it; ' +
      'if this shows on every stop, check TARGET_IP and TARGET_PORT against aws elbv2 describe-target-health'
    );
  if (state === 'draining')
    return 'was already draining when the drain started: it had been deregistered before the drain';
  return `was ${state}${reason ? ` (${reason})` : ''} when the drain started: the load balancer sends it nothing`;
}
