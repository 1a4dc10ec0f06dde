import { errorText, type HookContext } from '@task-helper/core';
import type { AdminClient } from './admin-client.ts';

export const closeInboundDefaults = Object.freeze({
  /**
   * Stops every listener marked `traffic_direction: INBOUND` at once (new connections refused) and
   * leaves the others accepting, on every release measured (1.36 to 1.40, after `/healthcheck/fail`
   * or a graceful drain alike); `/drain_listeners` has taken `inboundonly` since it exists
   * (envoy#8415, 2019), so an Envoy too old for it answers 404. Not `graceful`: that keeps
   * accepting until `--drain-time-s` ends, long after the helper and the app have gone.
   */
  path: '/drain_listeners?inboundonly',
  /** A local admin API answers in milliseconds: past this the helper exits with the listeners open. */
  withinMs: 1_000,
});

/**
 * The drain's last step, just before the helper exits and ECS stops the app: callers that never
 * noticed `/healthcheck/fail` (outlier detection alone ignores it) get their next connection refused,
 * which they may retry on another host, instead of a 503 from an Envoy whose app has gone. Requests
 * already on open connections are still served: the app is up until the helper exits. Any failure
 * is one warning and the exit goes on: by now the drain has done its work.
 */
export async function closeInboundListeners(admin: AdminClient, ctx: HookContext): Promise<void> {
  const started = Date.now();
  const { path, withinMs } = closeInboundDefaults;
  try {
    await admin.post(path, { ...ctx, deadline: Math.min(ctx.deadline, started + withinMs) });
    ctx.logger.info({ path, ms: Date.now() - started }, 'envoy inbound listeners closed: new connections refused');
  } catch (error) {
    ctx.logger.warn(
      { path, ms: Date.now() - started, error: errorText(error) },
      'envoy inbound listeners left open: callers without active health checks may get 503s once the app stops (ENVOY_CLOSE_INBOUND=false skips the call)',
    );
  }
}
