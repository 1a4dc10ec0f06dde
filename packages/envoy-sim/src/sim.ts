import { EventEmitter } from 'node:events';
import { startAdmin } from './admin.ts';
import { adminRoutes } from './admin-routes.ts';
import { startIngress, type Ingress } from './listener.ts';
import { ServerState } from './state.ts';
import { StatStore } from './stats.ts';
import type { AdminCall, EnvoySim, EnvoySimEvents, EnvoySimOptions, StatSet } from './types.ts';

const DEFAULTS = {
  host: '127.0.0.1',
  adminPort: 0,
  listenerPort: 0,
  healthPath: '/ping/ping',
  passThrough: true,
  statPrefix: 'ingress',
  initializingMs: 0,
  drainTimeS: 600,
  statSet: '1.40' as StatSet,
};

/** Starts the ingress listener and the admin server; resolves once both are accepting. */
export async function startEnvoySim(options: EnvoySimOptions = {}): Promise<EnvoySim> {
  const o = { ...DEFAULTS, ...withoutUndefined(options) };
  if (o.statSet !== '1.40' && o.statSet !== '1.29')
    throw new Error(`statSet must be '1.40' or '1.29', got ${String(o.statSet)}`);
  const state = new ServerState(o.initializingMs);
  const stats = new StatStore();
  stats.computedGauge('server.state', () => state.code());
  stats.computedGauge('server.live', () => (state.name() === 'LIVE' ? 1 : 0));
  stats.computedGauge('server.uptime', () => state.uptimeSeconds());
  const events = new EventEmitter<EnvoySimEvents>();
  const calls: AdminCall[] = [];

  let ingress: Ingress | undefined;
  try {
    ingress = await startIngress({ ...o, port: o.listenerPort }, state, stats, stats.gauge('server.total_connections'));
    const listener = ingress;
    const admin = await startAdmin({
      host: o.host,
      port: o.adminPort,
      stats,
      faults: options.adminFaults ?? {},
      routes: adminRoutes({
        state,
        stats,
        drainTimeS: o.drainTimeS,
        statSet: o.statSet,
        stopListeners: () => listener.stopAccepting(),
        quit: () => void close().then(() => events.emit('quit')),
      }),
      onCall: (call) => calls.push(call),
      onAnswer: (call) => events.emit('admin', call),
    });

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= Promise.all([admin.close(), listener.close()]).then(() => state.dispose());
      return closing;
    };
    return Object.assign(events, {
      adminUrl: admin.url,
      listenerUrl: listener.url,
      calls,
      state: () => state.name(),
      healthCheckFailed: () => state.healthCheckFailed(),
      close,
    });
  } catch (err) {
    state.dispose();
    await ingress?.close();
    throw err;
  }
}

/** Lets an explicit `undefined` in the options fall back to the default instead of overriding it. */
function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
