import { defaultHealthCheck } from './haproxy.ts';
import { launchEnvoy, type EnvoyProcess } from './real-envoy.ts';

/**
 * A caller's own Envoy (real, `.tools/bin/envoy`) in front of some tasks' ingress listeners: one
 * plain-HTTP listener the load is sent to, one cluster `tasks` over the tasks (round robin, HTTP/1.1
 * keep-alive), always with outlier detection (Envoy's default ejection: 5 consecutive 5xx), and as
 * a test asks, active HTTP health checks and a retry policy for refused connections. Every answer
 * carries `x-served-by: <the task's address>` (the load counts by it), empty for Envoy's own replies.
 * A request with `x-pin-task: <name>` goes to that task alone (a slow request kept on the draining task).
 */

/** Active health checks as HAProxy's defaultHealthCheck times them: every 500 ms, unhealthy after 2 failures. */
export const callerHealthCheck = Object.freeze({
  intervalMs: defaultHealthCheck.interMs,
  unhealthyThreshold: defaultHealthCheck.fall,
});

export interface CallerEnvoyOptions {
  /** The tasks' ingress listeners by name (the `x-pin-task` value), e.g. `{ a: 'http://127.0.0.1:41234' }`. */
  upstreams: Record<string, string>;
  /**
   * Active HTTP health checks on `/ping/ping`: every `intervalMs`, unhealthy after `unhealthyThreshold`
   * failures. Only then does this Envoy act on `x-envoy-immediate-health-check-fail`.
   */
  healthCheck?: { intervalMs: number; unhealthyThreshold: number };
  /**
   * A route retry policy (2 retries, on another host): `connect-failure`, what a caller may retry
   * for any method, or with `reset` too, for idempotent requests. Unset: no retries.
   */
  retryOn?: 'connect-failure' | 'connect-failure,reset';
  /**
   * The cluster's `max_retries` circuit breaker: retries in flight at once, Envoy's default 3. A stop
   * refuses every caller's next connection at the same moment, so a caller sending more requests at
   * once than this loses the overflow (`upstream_rq_retry_overflow`).
   */
  maxRetries?: number;
}

/** Outlier detection as a caller leaves it: Envoy's defaults, written out (ejected after 5 consecutive 5xx). */
const callerOutlierDetection = Object.freeze({ consecutive5xx: 5 });

function callerEnvoyConfig({ upstreams, healthCheck, retryOn, maxRetries }: CallerEnvoyOptions): string {
  const endpoint = (url: string) => {
    const { hostname, port } = new URL(url);
    return `{ endpoint: { address: { socket_address: { address: ${hostname}, port_value: ${port} } } } }`;
  };
  const tasks = Object.entries(upstreams);
  // x-pin-task: a cluster of its own per task, so a pinned request is never load-balanced.
  const pinnedRoutes = tasks.map(
    ([name]) => `
                        - match: { prefix: "/", headers: [{ name: x-pin-task, string_match: { exact: ${name} } }] }
                          route: { cluster: task_${name}, timeout: 30s }`,
  );
  const pinnedClusters = tasks.map(
    ([name, url]) => `
    - name: task_${name}
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: task_${name}
        endpoints: [{ lb_endpoints: [${endpoint(url)}] }]`,
  );
  const retry = retryOn
    ? `
                            retry_policy:
                              retry_on: ${retryOn}
                              num_retries: 2
                              retry_host_predicate:
                                - name: envoy.retry_host_predicates.previous_hosts
                                  typed_config:
                                    "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
                              host_selection_retry_max_attempts: 3`
    : '';
  const checks = healthCheck
    ? `
      health_checks:
        - timeout: 1s
          interval: ${healthCheck.intervalMs / 1000}s
          no_traffic_interval: ${healthCheck.intervalMs / 1000}s
          unhealthy_threshold: ${healthCheck.unhealthyThreshold}
          healthy_threshold: 1
          http_health_check: { path: /ping/ping }`
    : '';
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
    - name: caller
      address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: caller
                route_config:
                  virtual_hosts:
                    - name: tasks
                      domains: ["*"]
                      response_headers_to_add:
                        - header: { key: x-served-by, value: "%UPSTREAM_REMOTE_ADDRESS%" }
                      routes:${pinnedRoutes.join('')}
                        - match: { prefix: "/" }
                          route:
                            cluster: tasks
                            timeout: 5s${retry}
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: tasks
      type: STATIC
      connect_timeout: 1s
      lb_policy: ROUND_ROBIN
${maxRetries === undefined ? '' : `      circuit_breakers: { thresholds: [{ max_retries: ${maxRetries} }] }\n`}      outlier_detection:
        consecutive_5xx: ${callerOutlierDetection.consecutive5xx}
        interval: 10s
        base_ejection_time: 30s
        max_ejection_percent: 50${checks}
      load_assignment:
        cluster_name: tasks
        endpoints: [{ lb_endpoints: [${tasks.map(([, url]) => endpoint(url)).join(', ')}] }]${pinnedClusters.join('')}
`;
}

export interface CallerEnvoy {
  envoy: EnvoyProcess;
  /** Where the load goes: the caller listener. */
  url: string;
  /** A counter or gauge of the caller's Envoy, e.g. `cluster.tasks.upstream_rq_retry`; NaN if absent. */
  stat(name: string): Promise<number>;
}

export async function startCallerEnvoy(options: CallerEnvoyOptions): Promise<CallerEnvoy> {
  // One worker: one connection pool, so the caller's view of each task is one, as the tests reason about it.
  const envoy = await launchEnvoy({ config: callerEnvoyConfig(options), args: ['--concurrency', '1'] });
  const url = envoy.listeners.caller;
  if (!url) {
    await envoy.close();
    throw new Error(`caller Envoy has no listener named caller (got ${Object.keys(envoy.listeners).join(', ')})`);
  }
  return {
    envoy,
    url,
    async stat(name) {
      const filter = encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`);
      const { body } = await envoy.admin('GET', `/stats?format=json&filter=${filter}`);
      const { stats } = JSON.parse(body) as { stats: Array<{ name: string; value?: number }> };
      return stats.find((s) => s.name === name)?.value ?? Number.NaN;
    },
  };
}
