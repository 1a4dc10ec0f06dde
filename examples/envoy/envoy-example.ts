import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';

/** The sidecar example's files, and the facts other examples and the tests must agree with. */

export const EXAMPLE_BOOTSTRAP = path.join(import.meta.dirname, 'envoy.yaml');
const EXAMPLE_DOCKERFILE = path.join(import.meta.dirname, 'Dockerfile');

interface SocketAddress {
  address: string;
  port_value: number;
}
interface Filter {
  name: string;
  typed_config: Record<string, unknown>;
}
interface Listener {
  name: string;
  address: { socket_address: SocketAddress };
  traffic_direction?: string;
  filter_chains: Array<{ filters: Filter[] }>;
}
interface Cluster {
  name: string;
  load_assignment?: {
    endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: SocketAddress } } }> }>;
  };
}
interface Bootstrap {
  admin: { address: { socket_address: SocketAddress } };
  static_resources: { listeners: Listener[]; clusters: Cluster[] };
}

function loadBootstrap(): Bootstrap {
  return load(readFileSync(EXAMPLE_BOOTSTRAP, 'utf8')) as Bootstrap;
}

interface SidecarListener {
  address: string;
  port: number;
  direction: string | undefined;
  statPrefix: string;
  httpFilters: string[];
  /** The health_check filter's exact `:path`, if it runs one. */
  healthPath: string | undefined;
}

export interface Sidecar {
  admin: SocketAddress;
  ingress: SidecarListener;
  egress: SidecarListener;
  /** Where the ingress listener sends requests: the app. */
  app: SocketAddress;
}

function listener(config: Bootstrap, name: string): SidecarListener {
  const found = config.static_resources.listeners.find((l) => l.name === name);
  if (!found) throw new Error(`envoy.yaml has no listener named ${name}`);
  const hcm = found.filter_chains[0]?.filters.find((f) => f.name === 'envoy.filters.network.http_connection_manager')
    ?.typed_config as
    | {
        stat_prefix: string;
        http_filters: Array<{
          name: string;
          typed_config: { headers?: Array<{ name: string; string_match?: { exact?: string } }> };
        }>;
      }
    | undefined;
  if (!hcm) throw new Error(`envoy.yaml: listener ${name} has no http_connection_manager`);
  const healthCheck = hcm.http_filters.find((f) => f.name === 'envoy.filters.http.health_check');
  return {
    address: found.address.socket_address.address,
    port: found.address.socket_address.port_value,
    direction: found.traffic_direction,
    statPrefix: hcm.stat_prefix,
    httpFilters: hcm.http_filters.map((f) => f.name),
    healthPath: healthCheck?.typed_config.headers?.find((h) => h.name === ':path')?.string_match?.exact,
  };
}

/** What the example's ECS task and the helper's settings depend on. */
export function sidecar(): Sidecar {
  const config = loadBootstrap();
  const app = config.static_resources.clusters.find((c) => c.name === 'app')?.load_assignment?.endpoints[0]
    ?.lb_endpoints[0]?.endpoint.address.socket_address;
  if (!app) throw new Error('envoy.yaml has no cluster named app with one endpoint');
  return {
    admin: config.admin.address.socket_address,
    ingress: listener(config, 'ingress'),
    egress: listener(config, 'egress'),
    app,
  };
}

/** The Dockerfile's `FROM` image and exec-form `CMD`. */
export function dockerfile(): {
  from: string;
  copies: Array<[string, string]>;
  cmd: string[];
} {
  const file = EXAMPLE_DOCKERFILE;
  const text = readFileSync(file, 'utf8');
  const from = /^FROM\s+(\S+)/m.exec(text)?.[1];
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(text)?.[1];
  if (!from || !cmd) throw new Error(`${file}: expected a FROM line and an exec-form CMD [...]`);
  const copies = [...text.matchAll(/^COPY\s+(\S+)\s+(\S+)\s*$/gm)].map(
    ([, source, target]) => [source!, target!] as [string, string],
  );
  return { from, copies, cmd: JSON.parse(cmd) as string[] };
}

/** The value of `--flag value` in the Dockerfile's command. */
export function commandFlag(name: string, cmd: string[] = dockerfile().cmd): string | undefined {
  const at = cmd.indexOf(name);
  return at === -1 ? undefined : cmd[at + 1];
}
