import { launchEnvoy, type EnvoyProcess } from './real-envoy.ts';

/**
 * A caller's Envoy (real Envoy, its own process): one listener whose route sends everything to
 * the cluster `clusterName`, whose endpoints come from file-based EDS (`edsPath`, kept up to date by
 * a control plane: cloud-map-eds.ts) and are actively health-checked on the tasks' health path, so
 * it acts on `/healthcheck/fail` (the checks fail, and `x-envoy-immediate-health-check-fail` on
 * ordinary responses marks a host failed at once). No retries: every failure reaches the client.
 * Each response says which endpoint answered it (`x-served-by: <ip>:<port>`).
 */
export interface EdsCaller {
  envoy: EnvoyProcess;
  /** Where the client sends requests. */
  url: string;
  /** The cluster's endpoints now, each with whether Envoy routes to it (health-check passed, not failed). */
  hosts(): Promise<Array<{ address: string; healthy: boolean }>>;
  close(): Promise<void>;
}

export interface HealthCheckOptions {
  intervalMs: number;
  unhealthyThreshold: number;
}

export const edsCallerHealthCheck: HealthCheckOptions = Object.freeze({ intervalMs: 250, unhealthyThreshold: 2 });

export async function startEdsCaller({
  edsPath,
  clusterName,
  healthCheck = edsCallerHealthCheck,
  healthPath = '/ping/ping',
}: {
  edsPath: string;
  clusterName: string;
  healthCheck?: HealthCheckOptions;
  healthPath?: string;
}): Promise<EdsCaller> {
  const interval = `${healthCheck.intervalMs / 1000}s`;
  // Envoy requires a node id and cluster for any xDS subscription, file-based ones included.
  const config = `node: { id: caller, cluster: caller }
admin:
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
            - name: orders
              domains: ["*"]
              routes: [{ match: { prefix: "/" }, route: { cluster: ${JSON.stringify(clusterName)}, timeout: 10s } }]
              response_headers_to_add:
              - header: { key: x-served-by, value: "%UPSTREAM_HOST%" }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: ${JSON.stringify(clusterName)}
    type: EDS
    connect_timeout: 0.25s
    eds_cluster_config:
      eds_config:
        resource_api_version: V3
        path_config_source: { path: ${JSON.stringify(edsPath)} }
    health_checks:
    - timeout: ${interval}
      interval: ${interval}
      no_traffic_interval: ${interval}
      unhealthy_threshold: ${healthCheck.unhealthyThreshold}
      healthy_threshold: 1
      http_health_check: { path: ${JSON.stringify(healthPath)} }
`;
  const envoy = await launchEnvoy({ config, args: ['--concurrency', '1'] });
  return {
    envoy,
    url: envoy.listeners.caller!,
    async hosts() {
      const { body } = await envoy.admin('GET', '/clusters?format=json');
      const { cluster_statuses: clusters = [] } = JSON.parse(body) as {
        cluster_statuses?: Array<{
          name: string;
          host_statuses?: Array<{
            address: { socket_address: { address: string; port_value: number } };
            health_status: Record<string, unknown>;
          }>;
        }>;
      };
      const cluster = clusters.find((c) => c.name === clusterName);
      return (cluster?.host_statuses ?? []).map(({ address: { socket_address: a }, health_status: h }) => ({
        address: `${a.address}:${a.port_value}`,
        // Any flag set (failed_active_health_check, pending_active_hc, …) takes the host out of rotation.
        healthy:
          h.eds_health_status === 'HEALTHY' && Object.entries(h).every(([k, v]) => k === 'eds_health_status' || !v),
      }));
    },
    close: () => envoy.close(),
  };
}
