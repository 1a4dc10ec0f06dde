import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Counter, Gauge, StatStore } from './stats.ts';

/** The subset of an HTTP connection manager's `http.<stat_prefix>.*` stats that the sim keeps. */
export interface ConnectionManagerStats {
  cxTotal: Counter;
  cxActive: Gauge;
  cxDrainClose: Counter;
  rqTotal: Counter;
  rqActive: Gauge;
  rqCompleted: Counter;
  rqByClass: Counter[];
}

export function connectionManagerStats(store: StatStore, statPrefix: string): ConnectionManagerStats {
  const name = (stat: string) => `http.${statPrefix}.${stat}`;
  return {
    cxTotal: store.counter(name('downstream_cx_total')),
    cxActive: store.gauge(name('downstream_cx_active')),
    cxDrainClose: store.counter(name('downstream_cx_drain_close')),
    rqTotal: store.counter(name('downstream_rq_total')),
    rqActive: store.gauge(name('downstream_rq_active')),
    rqCompleted: store.counter(name('downstream_rq_completed')),
    rqByClass: [1, 2, 3, 4, 5].map((c) => store.counter(name(`downstream_rq_${c}xx`))),
  };
}

/** `listener.<address>.*`: connections as the listener (not the connection manager) sees them. */
export interface ListenerStats {
  cxTotal: Counter;
  cxActive: Gauge;
}

export function listenerStats(store: StatStore, listenerName: string): ListenerStats {
  return {
    cxTotal: store.counter(`listener.${listenerName}.downstream_cx_total`),
    cxActive: store.gauge(`listener.${listenerName}.downstream_cx_active`),
  };
}

/** Counts a connection as open until its socket closes, in every group it belongs to. */
export function trackConnection(
  socket: Socket,
  groups: Array<{ cxTotal: Counter; cxActive: Gauge }>,
  total?: Gauge,
): void {
  for (const g of groups) {
    g.cxTotal.inc();
    g.cxActive.inc();
  }
  total?.inc();
  socket.once('close', () => {
    for (const g of groups) g.cxActive.dec();
    total?.dec();
  });
}

/**
 * Counts a request as active until its response is finished or abandoned, and as completed (with
 * its status class) as its response headers go out, as Envoy does. A health check (the stream's
 * `tracing.health_check` counter given) counts in total and active like any request, never in
 * completed or the status classes, and in that counter once it is over.
 */
export function trackRequest(res: ServerResponse, cm: ConnectionManagerStats, healthCheck?: Counter): void {
  cm.rqTotal.inc();
  cm.rqActive.inc();
  if (!healthCheck) {
    // Every response passes here, implicit headers included (res.end calls writeHead).
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
      cm.rqCompleted.inc();
      cm.rqByClass[Math.floor(Number(args[0]) / 100) - 1]?.inc();
      res.writeHead = writeHead;
      return writeHead.apply(this, args);
    } as typeof writeHead;
  }
  res.once('close', () => {
    healthCheck?.inc();
    cm.rqActive.dec();
  });
}
