import type { EventEmitter } from 'node:events';

export type StatSet = '1.40' | '1.29';

export type ServerStateName = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

export interface AdminFault {
  status: number;
  body?: string;
  delayMs?: number;
  /**
   * An answer a real Envoy never gives: `stall` sends the status line and `body`, then never ends
   * the answer; `flood` sends `body` over and over without end, as fast as the client reads.
   */
  stream?: 'stall' | 'flood';
}

export interface EnvoySimOptions {
  host?: string;
  adminPort?: number;
  /** The ingress listener that proxies to the app. */
  listenerPort?: number;
  /** App base URL, e.g. 'http://127.0.0.1:8080'. Without it the listener answers 503 `no healthy upstream`. */
  upstream?: string;
  /** Path the health check filter intercepts (exact match on `:path`). */
  healthPath?: string;
  /** Health check filter pass_through_mode: forward health checks to the app while healthy. */
  passThrough?: boolean;
  /** HTTP connection manager stat prefix of the ingress listener. */
  statPrefix?: string;
  /** Stay INITIALIZING this long after start, then LIVE. */
  initializingMs?: number;
  /** Envoy's --drain-time-s, used by /drain_listeners?graceful. */
  drainTimeS?: number;
  /**
   * Which Envoy's stats (and `/server_info` version) to show: '1.40' (default), or '1.29' (App
   * Mesh's last Envoy), whose health check filter has no `health_check.*` counters.
   */
  statSet?: StatSet;
  /**
   * Test-only: make an admin path answer this way instead of doing its job, to stand in for a
   * broken or slow endpoint. Looked up on every request, so a test may add or delete entries on
   * the object it passed while the sim runs.
   */
  adminFaults?: Record<string, AdminFault>;
}

export interface AdminCall {
  method: string;
  path: string;
  /** Query string without the leading '?'. */
  query: string;
  /** Answer status; 0 while the request is still being answered (e.g. a delayed fault). */
  status: number;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface EnvoySimEvents {
  /** An admin request was answered. */
  admin: [call: AdminCall];
  /** /quitquitquit was answered and the sim has closed. */
  quit: [];
}

export interface EnvoySim extends EventEmitter<EnvoySimEvents> {
  adminUrl: string;
  listenerUrl: string;
  /** Every admin request in arrival order. */
  calls: AdminCall[];
  state(): ServerStateName;
  healthCheckFailed(): boolean;
  /** Closes both servers and every open connection; safe to call more than once. */
  close(): Promise<void>;
}

export interface ToyAppOptions {
  host?: string;
  port?: number;
  healthPath?: string;
}

export interface ToyApp {
  url: string;
  port: number;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}
