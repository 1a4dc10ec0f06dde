import { EventEmitter } from 'node:events';
import { startAdmin } from './admin.ts';
import { adminRoutes } from './admin-routes.ts';
import { startIngress } from './listener.ts';
import { ServerState } from './state.ts';
import { StatStore } from './stats.ts';
import type { AdminCall, EnvoySim, EnvoySimOptions } from './types.ts';

const DEFAULTS = {
  host: '127.0.0.1',
  adminPort: 0,
  listenerPort: 0,
  healthPath: '/ping/ping',
  passThrough: true,
  statPrefix: 'ingress',
  initializingMs: 0,
  drainTimeS: 600,
};

/** Starts the admin server and the ingress listener; resolves once both are accepting. */
export async function startEnvoySim(options: EnvoySimOptions = {}): Promise<EnvoySim> {
  const o = { ...DEFAULTS, ...withoutUndefined(options) };
  const state = new ServerState(o.initializingMs);
  const stats = new StatStore();
  stats.computedGauge('server.state', () => state.code());
  stats.computedGauge('server.live', () => (state.name() === 'LIVE' ? 1 : 0));
  stats.computedGauge('server.uptime', () => state.uptimeSeconds());
  const totalConnections = stats.gauge('server.total_connections');

  const events = new EventEmitter<{ admin: [AdminCall]; quit: [] }>();
  const calls: AdminCall[] = [];
  let closing: Promise<void> | undefined;

  const ingress = await startIngress(
    { host: o.host, port: o.listenerPort, upstream: options.upstream, healthPath: o.healthPath, passThrough: o.passThrough, statPrefix: o.statPrefix },
    state,
    stats,
    totalConnections,
  );
  const routes = adminRoutes({
    state,
    stats,
    drainTimeS: o.drainTimeS,
    stopListeners: () => ingress.stopAccepting(),
    quit: () => void close().then(() => events.emit('quit')),
  });
  const admin = await startAdmin({
    host: o.host,
    port: o.adminPort,
    routes,
    stats,
    faults: options.adminFaults ?? {},
    onCall: (call) => calls.push(call),
    onAnswer: (call) => events.emit('admin', call),
  }).catch(async (err: unknown) => {
    await ingress.close();
    throw err;
  });

  function close(): Promise<void> {
    closing ??= (async () => {
      state.dispose();
      await Promise.all([admin.close(), ingress.close()]);
    })();
    return closing;
  }

  const sim: EnvoySim = Object.assign(events, {
    adminUrl: admin.url,
    listenerUrl: ingress.url,
    calls,
    state: () => state.name(),
    healthCheckFailed: () => state.healthCheckFailed(),
    close,
  });
  return sim;
}

/** Lets an explicit `undefined` in the options fall back to the default instead of overriding it. */
function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
