import {
  ConfigError,
  definePlugin,
  METADATA_ENV,
  oneOf,
  Stage,
  type HookContext,
  type PluginOptions,
  type ResolvedConfig,
} from '@task-helper/core';
import { explainAwsError, errorName, type CallFix } from './aws-error.ts';
import {
  awsClientSettings,
  awsDefaults,
  awsSettings,
  clientConfig,
  matching,
  type AwsClientSettings,
} from './aws-settings.ts';
import { checkUntilReplacements, drainDelayUntilSettings, tapUntilReplacements } from './drain-delay-until.ts';
import { pollUntil } from './poll.ts';

const NAME = 'cloud-map';

/**
 * In `drain`, right after Envoy's `/healthcheck/fail` and beside the DRAIN_TIMEOUT wait, takes this
 * task out of its Cloud Map service, so callers that discover it there stop getting its address.
 * With DRAIN_DELAY_UNTIL=replacements it also watches that service from the stop signal, to end
 * DRAIN_DELAY once the replacements are in service (drain-delay-until.ts).
 */
const cloudMap = definePlugin({
  name: NAME,
  settings: {
    serviceId: {
      env: 'CLOUD_MAP_SERVICE_ID',
      description:
        "the Cloud Map service (`srv-…`; the ECS service's `serviceRegistries[].registryArn` ends with it) to take this task out of, right after `/healthcheck/fail` and beside `DRAIN_TIMEOUT`. Unset: the plugin does nothing (and loads no SDK)",
      parse: matching('a Cloud Map service id such as srv-abcdef0123456789', /^srv-[a-z0-9]+$/),
    },
    instanceId: {
      env: 'CLOUD_MAP_INSTANCE_ID',
      description:
        'the instance to take out; default the task id, which ECS service discovery registers as the instance id',
      parse: matching('an instance id (up to 64 characters)', /^[\w.:-]{1,64}$/),
      default: (_settings: unknown, config: ResolvedConfig) => config.task?.taskId,
    },
    action: {
      env: 'CLOUD_MAP_ACTION',
      description:
        '`deregister` (`DeregisterInstance`, then `GetOperation` until `SUCCESS`), `unhealthy` (`UpdateInstanceCustomHealthStatus`, for services with a custom health check config) or `auto` (`GetService` decides: `unhealthy` when the service has a custom health check config)',
      parse: oneOf(['auto', 'deregister', 'unhealthy']),
      default: 'auto',
    },
    ...drainDelayUntilSettings,
    ...awsSettings(),
  },
  apply(hooks, { settings, config, env }) {
    const { serviceId, instanceId, action } = settings;
    const untilReplacements = checkUntilReplacements(settings, env);
    if (serviceId === undefined) return;
    if (instanceId === undefined && !env[METADATA_ENV]) {
      throw new ConfigError(
        `CLOUD_MAP_SERVICE_ID is set but this task's instance id is unknown: run in ECS (${METADATA_ENV}) or set CLOUD_MAP_INSTANCE_ID`,
      );
    }
    const aws = awsClientSettings(NAME, settings, config.task);
    if (untilReplacements) tapUntilReplacements(hooks, { ...settings, serviceId, aws, task: config.task });
    const label = `${action === 'unhealthy' ? 'mark' : action === 'deregister' ? 'deregister' : 'deregister (or mark unhealthy)'} instance ${instanceId ?? '(task id)'} in Cloud Map service ${serviceId}, beside the drain`;
    hooks.drain.tapPromise(
      { stage: Stage.DRAIN_DEREGISTER, beside: true, timeout: awsDefaults.tapTimeoutMs, plan: { label } },
      async (ctx) => {
        if (instanceId === undefined)
          throw new Error(
            `this task's instance id is unknown (the task metadata could not be read at start): set CLOUD_MAP_INSTANCE_ID`,
          );
        await leaveCloudMap(ctx, aws, serviceId, instanceId, action);
      },
    );
  },
});
export default cloudMap;

export type CloudMapOptions = PluginOptions<typeof cloudMap.settings>;

class InstanceGone extends Error {}

async function leaveCloudMap(
  ctx: HookContext,
  aws: AwsClientSettings,
  serviceId: string,
  instanceId: string,
  action: 'auto' | 'deregister' | 'unhealthy',
): Promise<void> {
  const started = Date.now();
  // Loaded here, after /healthcheck/fail went out: 150–750 ms and about 28 MB (measured from the
  // sources) that the idle helper never pays. `.default`
  // is module.exports (CommonJS), the one form both Node and the bundle give.
  const sd = (await import('@aws-sdk/client-servicediscovery')).default;
  const client = new sd.ServiceDiscoveryClient(clientConfig(aws));
  const resource = `arn:aws:servicediscovery:${aws.region}:${aws.accountId ?? '*'}:service/${serviceId}`;
  const fix = (api: string, permission = `servicediscovery:${api}`, on = resource): CallFix => ({
    api,
    permission,
    resource: on,
    endpoint: 'servicediscovery',
  });
  const send = async <T>(how: CallFix, request: (options: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> => {
    try {
      return await request({ abortSignal: ctx.abortSignal });
    } catch (error) {
      throw errorName(error) === 'InstanceNotFound' ? new InstanceGone() : explainAwsError(error, how, aws.region);
    }
  };
  const fields = { serviceId, instanceId };
  try {
    let unhealthy = action === 'unhealthy';
    if (action === 'auto') {
      const { Service } = await send(fix('GetService'), (o) =>
        client.send(new sd.GetServiceCommand({ Id: serviceId }), o),
      );
      unhealthy = Service?.HealthCheckCustomConfig !== undefined;
    }
    if (unhealthy) {
      await send(fix('UpdateInstanceCustomHealthStatus'), (o) =>
        client.send(
          new sd.UpdateInstanceCustomHealthStatusCommand({
            ServiceId: serviceId,
            InstanceId: instanceId,
            Status: 'UNHEALTHY',
          }),
          o,
        ),
      );
      ctx.logger.info(
        { ...fields, ms: Date.now() - started },
        'cloud map instance marked unhealthy: discovery stops returning it',
      );
      return;
    }
    const { OperationId } = await send(fix('DeregisterInstance'), (o) =>
      client.send(new sd.DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: instanceId }), o),
    );
    // GetOperation takes no resource ARN in IAM: it must be allowed on "*".
    const status = await pollUntil(
      ctx,
      async () => {
        const { Operation } = await send(fix('GetOperation', 'servicediscovery:GetOperation', '*'), (o) =>
          client.send(new sd.GetOperationCommand({ OperationId }), o),
        );
        if (Operation?.Status === 'FAIL')
          throw new Error(
            `DeregisterInstance operation ${OperationId} failed: ${Operation.ErrorMessage ?? 'no reason given'}`,
          );
        return Operation?.Status === 'SUCCESS' ? Operation.Status : undefined;
      },
      () => `DeregisterInstance operation ${OperationId} was not confirmed before the step had to end`,
    );
    ctx.logger.info(
      { ...fields, operationId: OperationId, status, ms: Date.now() - started },
      'cloud map instance deregistered: discovery stops returning it',
    );
  } catch (error) {
    // ECS deregisters a service's task itself when it stops it; the instance being gone is the goal.
    if (!(error instanceof InstanceGone)) throw error;
    ctx.logger.info(
      { ...fields, note: "already deregistered (ECS deregisters a service's tasks itself)", ms: Date.now() - started },
      'cloud map instance already gone',
    );
  } finally {
    client.destroy();
  }
}
