import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenHttp } from './http-endpoint.ts';
import { connectionManagerStats, listenerStats, trackConnection, trackRequest } from './http-stats.ts';
import { createRouter, localReply } from './router.ts';
import type { ServerState } from './state.ts';
import type { Gauge, StatStore } from './stats.ts';

export interface IngressOptions {
  host: string;
  port: number;
  upstream?: string;
  healthPath: string;
  passThrough: boolean;
  statPrefix: string;
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
  // The health check filter's own stats: its requests also count in downstream_rq_total, and
  // these let a reader tell them apart from application traffic.
  const healthChecks = {
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
      trackRequest(res, cm);
      handle(req, res);
    },
  });
  // Defined up front so /stats lists them at 0 before the first connection, as Envoy does.
  listenerStats(stats, listenerName(endpoint.port));

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // The filter matches `:path` exactly, query string included.
    const healthCheck = req.url === options.healthPath;
    if (healthCheck) {
      healthChecks.total.inc();
      res.once('finish', () => (res.statusCode === 200 ? healthChecks.ok : healthChecks.failed).inc());
    }
    const decorate = (r: ServerResponse) => {
      // Encoder side of the health check filter: ordinary traffic tells downstream Envoys at once.
      if (!healthCheck && state.healthCheckFailed()) r.setHeader('x-envoy-immediate-health-check-fail', 'true');
      if (state.drainClose()) {
        r.setHeader('connection', 'close');
        cm.cxDrainClose.inc();
      }
    };
    if (healthCheck && state.healthCheckFailed()) return localReply(res, 503, '', decorate);
    if (healthCheck && !options.passThrough) return localReply(res, 200, '', decorate);
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
