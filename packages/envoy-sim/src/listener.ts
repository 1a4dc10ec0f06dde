import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenHttp } from './http-endpoint.ts';
import { connectionManagerStats, listenerStats, trackConnection, trackRequest } from './http-stats.ts';
import { createRouter, localReply } from './router.ts';
import type { ServerState } from './state.ts';
import type { Gauge, StatStore } from './stats.ts';
import type { StatSet } from './types.ts';

export interface IngressOptions {
  host: string;
  port: number;
  upstream?: string;
  healthPath: string;
  passThrough: boolean;
  statPrefix: string;
  statSet: StatSet;
}

export interface Ingress {
  url: string;
  /** Envoy's stopListeners: no new connections, open ones are still served. */
  stopAccepting(): void;
  close(): Promise<void>;
}

/**
 * The ingress listener: an HTTP connection manager with the health check filter in front of the
 * router filter, as App Mesh configures it.
 */
export async function startIngress(
  options: IngressOptions,
  state: ServerState,
  stats: StatStore,
  totalConnections: Gauge,
): Promise<Ingress> {
  const cm = connectionManagerStats(stats, options.statPrefix);
  // Every health check, counted by the connection manager when its stream ends.
  const tracingHealthCheck = stats.counter(`http.${options.statPrefix}.tracing.health_check`);
  // The health check filter's own counters exist from Envoy 1.33, and count only the checks it
  // answers itself (failed, or not in pass-through mode), never those passed through to the app.
  const filterStats =
    options.statSet === '1.29'
      ? undefined
      : {
          total: stats.counter(`http.${options.statPrefix}.health_check.request_total`),
          ok: stats.counter(`http.${options.statPrefix}.health_check.ok`),
          failed: stats.counter(`http.${options.statPrefix}.health_check.failed`),
        };
  const router = createRouter(options.upstream);
  const listenerName = (port: number) => `${options.host}_${port}`;

  const endpoint = await listenHttp(options.host, options.port, {
    onConnection(socket) {
      // With port 0 the stat name is only known once bound; the accepted socket carries it.
      trackConnection(socket, [cm, listenerStats(stats, listenerName(socket.localPort ?? 0))], totalConnections);
    },
    onRequest(req, res) {
      // The filter matches `:path` exactly, query string included.
      const healthCheck = req.url === options.healthPath;
      trackRequest(res, cm, healthCheck ? tracingHealthCheck : undefined);
      handle(req, res, healthCheck);
    },
  });
  // Defined up front so /stats lists them at 0 before the first connection, as Envoy does.
  listenerStats(stats, listenerName(endpoint.port));

  function handle(req: IncomingMessage, res: ServerResponse, healthCheck: boolean): void {
    // Envoy's service cluster (--service-cluster), unset here.
    if (healthCheck) res.setHeader('x-envoy-upstream-healthchecked-cluster', '');
    const decorate = (r: ServerResponse) => {
      // Encoder side of the health check filter: every response, its own 503s included, tells
      // downstream Envoys at once.
      if (state.healthCheckFailed()) r.setHeader('x-envoy-immediate-health-check-fail', 'true');
      if (state.drainClose()) {
        r.setHeader('connection', 'close');
        cm.cxDrainClose.inc();
      }
    };
    if (healthCheck && (state.healthCheckFailed() || !options.passThrough)) {
      const failed = state.healthCheckFailed();
      filterStats?.total.inc();
      (failed ? filterStats?.failed : filterStats?.ok)?.inc();
      localReply(res, failed ? 503 : 200, '', decorate);
      return;
    }
    router.forward(req, res, decorate);
  }

  return {
    url: endpoint.url,
    stopAccepting: endpoint.stopAccepting,
    async close() {
      router.close();
      await endpoint.close();
    },
  };
}
