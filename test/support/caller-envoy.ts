import { launchEnvoy, type EnvoyProcess } from './real-envoy.ts';

/**
 * A calling service's own Envoy (real 1.40), as a mesh caller routes to our tasks: one listener,
 * one cluster of the tasks' ingress listeners, and either active health checks on the tasks' health
 * path (so it honours `x-envoy-immediate-health-check-fail` and leaves a failed task at once) or
 * outlier detection only (it never acts on the fail, and keeps sending until requests fail).
 * A request with `x-pin-task: <name>` goes to that task alone (a slow request kept on the
 * draining task); every answer names the task's address (`127.0.0.1:<port>`) in `x-served-by`.
 */

export interface CallerTask {
  name: string;
  /** The task's ingress listener, `http://127.0.0.1:<port>`. */
  url: string;
}

export type CallerChecks = 'active' | 'outlier-only';

/** The active health checks' timing: every 500 ms, unhealthy after 2 failures (as HAProxy's defaultHealthCheck). */
export const callerHealthCheck = Object.freeze({ intervalMs: 500, unhealthyThreshold: 2 });

function callerEnvoyConfig(tasks: readonly CallerTask[], checks: CallerChecks, healthPath = '/ping/ping'): string {
  const endpoint = (t: CallerTask) => {
    const { hostname, port } = new URL(t.url);
    return `{ endpoint: { address: { socket_address: { address: ${hostname}, port_value: ${port} } } } }`;
  };
  const active = `    health_checks:
    - timeout: 0.4s
      interval: ${callerHealthCheck.intervalMs / 1000}s
      unhealthy_threshold: ${callerHealthCheck.unhealthyThreshold}
      healthy_threshold: 1
      http_health_check: { path: ${JSON.stringify(healthPath)} }
`;
  const outlier = '    outlier_detection: { consecutive_5xx: 5, interval: 1s, base_ejection_time: 30s }\n';
  const cluster = (name: string, members: readonly CallerTask[], health = '') => `  - name: ${name}
    type: STATIC
    connect_timeout: 1s
    common_lb_config: { healthy_panic_threshold: { value: 0 } }
    load_assignment:
      cluster_name: ${name}
      endpoints: [{ lb_endpoints: [${members.map(endpoint).join(', ')}] }]
${health}`;
  // x-pin-task: a cluster of its own per task, so a pinned request is never load-balanced.
  const pinned = tasks.map(
    (t) =>
      `              - { match: { prefix: "/", headers: [{ name: x-pin-task, string_match: { exact: ${t.name} } }] }, route: { cluster: task_${t.name}, timeout: 30s } }\n`,
  );
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
            response_headers_to_add: [{ header: { key: x-served-by, value: "%UPSTREAM_REMOTE_ADDRESS%" } }]
            virtual_hosts:
            - name: tasks
              domains: ["*"]
              routes:
${pinned.join('')}              - { match: { prefix: "/" }, route: { cluster: tasks, timeout: 30s } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
${cluster('tasks', tasks, checks === 'active' ? active : outlier)}${tasks.map((t) => cluster(`task_${t.name}`, [t])).join('')}`;
}

/** Starts the caller's Envoy (one worker: the machine is small) and waits until it routes to every task. */
export async function startCallerEnvoy(tasks: readonly CallerTask[], checks: CallerChecks): Promise<EnvoyProcess> {
  return launchEnvoy({ config: callerEnvoyConfig(tasks, checks), args: ['--concurrency', '1'] });
}
