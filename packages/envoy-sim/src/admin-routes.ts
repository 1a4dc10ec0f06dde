import { createLogging } from './logging.ts';
import { serverInfo } from './server-info.ts';
import type { ServerState } from './state.ts';
import type { StatStore } from './stats.ts';
import type { StatSet } from './types.ts';
import { renderStats } from './stats-format.ts';

export interface AdminReply {
  status: number;
  body: string;
  json?: boolean;
  /** Runs once the reply has gone out (used by /quitquitquit). */
  after?: () => void;
  /** A fault's answer that never ends (AdminFault.stream). */
  stream?: 'stall' | 'flood';
}

export interface AdminRoute {
  path: string;
  help: string;
  /** Envoy refuses anything but POST on handlers that change server state. */
  mutates: boolean;
  handle(params: URLSearchParams): AdminReply;
}

export interface AdminContext {
  state: ServerState;
  stats: StatStore;
  drainTimeS: number;
  statSet: StatSet;
  stopListeners(): void;
  quit(): void;
}

const ok = (after?: () => void): AdminReply => ({ status: 200, body: 'OK\n', after });

/** The admin endpoints the sim implements; /help and the 404 page are built from this list. */
export function adminRoutes(ctx: AdminContext): AdminRoute[] {
  const logging = createLogging();
  return [
    {
      path: '/ready',
      help: 'print server state, return 200 if LIVE, otherwise return 503',
      mutates: false,
      handle: () => ({ status: ctx.state.name() === 'LIVE' ? 200 : 503, body: `${ctx.state.name()}\n` }),
    },
    {
      path: '/server_info',
      help: 'print server version/status information',
      mutates: false,
      handle: () => ({ status: 200, body: serverInfo(ctx.state, ctx.drainTimeS, ctx.statSet), json: true }),
    },
    {
      path: '/stats',
      help: 'print server stats',
      mutates: false,
      handle: (params) => renderStats(ctx.stats.snapshot(), params),
    },
    {
      path: '/healthcheck/fail',
      help: 'cause the server to fail health checks',
      mutates: true,
      handle: () => {
        ctx.state.setHealthCheckFailed(true);
        return ok();
      },
    },
    {
      path: '/healthcheck/ok',
      help: 'cause the server to pass health checks',
      mutates: true,
      handle: () => {
        ctx.state.setHealthCheckFailed(false);
        return ok();
      },
    },
    {
      path: '/drain_listeners',
      help: 'drain listeners',
      mutates: true,
      handle: (params) => drainListeners(ctx, params),
    },
    {
      path: '/quitquitquit',
      help: 'exit the server',
      mutates: true,
      handle: () => ok(ctx.quit),
    },
    {
      path: '/reset_counters',
      help: 'reset all counters to zero',
      mutates: true,
      handle: () => {
        ctx.stats.resetCounters();
        return ok();
      },
    },
    {
      path: '/logging',
      help: 'query/change logging levels',
      mutates: true,
      handle: logging,
    },
  ];
}

/**
 * As Envoy does it (packages/plugin-envoy/README.md measures each release). `?graceful` drain-closes
 * connections for the drain period (as with `--drain-strategy immediate`), then stops the listener
 * unless `?skip_exit`. Without `?graceful`, the 1.40 stat set drains too (envoy#47042) and stops the
 * listener at once, or never with `?skip_exit`; the 1.29 one behaves as 1.36-1.39 were measured to:
 * it only stops the listener, and refuses `?skip_exit` (400). `?inboundonly` changes nothing here:
 * the ingress listener is the only one and it is inbound.
 */
function drainListeners(ctx: AdminContext, params: URLSearchParams): AdminReply {
  const graceful = params.has('graceful');
  const skipExit = params.has('skip_exit');
  if (graceful) {
    ctx.state.startDrainSequence(ctx.drainTimeS * 1000, () => {
      if (!skipExit) ctx.stopListeners();
    });
    return ok();
  }
  if (ctx.statSet === '1.29') {
    if (skipExit) return { status: 400, body: 'skip_exit requires graceful\n' };
    ctx.stopListeners();
    return ok();
  }
  ctx.state.startDrainSequence(ctx.drainTimeS * 1000, () => undefined);
  if (!skipExit) ctx.stopListeners();
  return ok();
}
