import {
  definePlugin,
  httpUrl,
  seconds,
  type HookContext,
  type PluginOptions,
  type StopTrigger,
} from '@task-helper/core';

/** The JSON body the webhook receives. */
interface DrainNotice {
  /** The task's ARN from the ECS task metadata endpoint; absent outside ECS. */
  task?: string;
  /** The signal that started the stop, or `preStop` (the kubelet's call, on Kubernetes). */
  signal: StopTrigger;
  /** `skipped`: a beforeDrain plugin (the app check, say) skipped the drain. */
  outcome: 'drained' | 'skipped';
  /** When the notice was sent, ISO 8601. */
  at: string;
}

// 3 s fits the 5 s the stop budget keeps for afterDrain even when the waits used up the rest.
const notifyDefaults = Object.freeze({ timeout: 3 });

/** Tells a webhook that this task has drained (or skipped its drain), in afterDrain. */
const notify = definePlugin({
  name: 'notify',
  settings: {
    /** Where to POST the notice. */
    url: { env: 'NOTIFY_URL', parse: httpUrl, required: true },
    /** Seconds the notice may take, metadata lookup included. */
    timeout: { env: 'NOTIFY_TIMEOUT', parse: seconds(3, { allowZero: false }), default: notifyDefaults.timeout },
    // Set by ECS in every container; reading it as a setting shows in `plan` whether the helper runs in ECS.
    metadataUri: { env: 'ECS_CONTAINER_METADATA_URI_V4', parse: httpUrl, envOnly: true },
  },
  apply(hooks, { settings: { url, timeout, metadataUri } }) {
    hooks.afterDrain.tapPromise({ timeout: timeout * 1000, plan: { label: `POST ${url}` } }, async (ctx) => {
      const task = metadataUri === undefined ? undefined : await taskArn(metadataUri, ctx);
      const notice: DrainNotice = {
        ...(task === undefined ? {} : { task }),
        signal: ctx.stopSignal,
        outcome: ctx.skipped === undefined ? 'drained' : 'skipped',
        at: new Date().toISOString(),
      };
      await post(url, notice, ctx);
    });
  },
});
export default notify;

export type NotifyOptions = PluginOptions<typeof notify.settings>;

async function post(url: string, notice: DrainNotice, ctx: HookContext): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(notice),
      signal: ctx.abortSignal,
    });
  } catch (error) {
    throw new Error(`POST ${url} failed: ${reasonOf(error)}`);
  }
  await response.body?.cancel();
  if (!response.ok) throw new Error(`POST ${url} answered HTTP ${response.status}`);
  ctx.logger.info({ url, status: response.status, task: notice.task, outcome: notice.outcome }, 'drain notice sent');
}

/** The task ARN, or undefined: a notice without it is better than none. */
async function taskArn(metadataUri: string, ctx: HookContext): Promise<string | undefined> {
  try {
    const response = await fetch(`${metadataUri}/task`, { signal: ctx.abortSignal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { TaskARN } = (await response.json()) as { TaskARN?: unknown };
    if (typeof TaskARN !== 'string') throw new Error('no TaskARN in the answer');
    return TaskARN;
  } catch (error) {
    if (!ctx.abortSignal.aborted)
      ctx.logger.warn({ reason: reasonOf(error) }, 'task metadata unreadable: sending the notice without the task ARN');
    return undefined;
  }
}

/** fetch rejects with "fetch failed" and hides the useful part (ECONNREFUSED, ENOTFOUND) in its cause. */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
