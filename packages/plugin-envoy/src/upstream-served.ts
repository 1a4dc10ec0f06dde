import type { HookContext } from '@task-helper/core';
import type { AdminClient } from './admin-client.ts';

/** An answer past this is Envoy taking too long to be of use to a decision due at once. */
const READ_WITHIN_MS = 1_000;

/**
 * Whether Envoy ever connected to `host` (`ip:port`) in any cluster and the host accepted:
 * `/clusters` lists each host's `cx_total` and `cx_connect_fail` (connections attempted, and
 * those refused or timed out), so a host that was never up shows none accepted. By address, not
 * by cluster name: the app's cluster is named by whoever wrote the bootstrap (or App Mesh).
 */
export async function upstreamServed(
  admin: AdminClient,
  host: string,
  ctx: Pick<HookContext, 'logger'>,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + READ_WITHIN_MS;
  const text = await admin.get('/clusters', {
    logger: ctx.logger,
    abortSignal: AbortSignal.any([signal, AbortSignal.timeout(READ_WITHIN_MS)]),
    deadline,
  });
  const counts = { cx_total: 0, cx_connect_fail: 0 };
  // Lines such as `app::127.0.0.1:8080::cx_total::3`.
  for (const line of text.split('\n')) {
    const [, address, stat, value] = line.split('::');
    if (address === host && (stat === 'cx_total' || stat === 'cx_connect_fail')) counts[stat] += Number(value) || 0;
  }
  return counts.cx_total > counts.cx_connect_fail;
}
