import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { envoyBinary } from './envoy-binary.ts';
import { type KubeApi, type KubeObject, NODE_NETNS, type Watch } from './k8s.ts';
import { pollUntil } from './poll.ts';
import { terminate } from './terminate.ts';

/**
 * A caller of a Service's pods as a mesh's sidecar is one: a real Envoy (.tools/bin/envoy) in the
 * node's network namespace whose cluster is fed by EDS from the Service's EndpointSlices (a file
 * this process rewrites on each change, the way a control plane pushes), with active HTTP health
 * checks on each pod. As in a mesh, an endpoint leaves EDS when it turns not-ready; Envoy keeps a
 * removed host for as long as its health check passes, so traffic leaves a stopping pod when its
 * Envoy fails the check, as on ECS. Its listener and admin are unix sockets: the tests, outside
 * the namespace, send their load through one (test/support/load.ts `socketPath`).
 */

interface EndpointChange {
  at: number;
  address: string;
  pod: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface CallerEnvoy {
  /** The listener's unix socket, for startLoad(…, { socketPath }). */
  socketPath: string;
  /** Every change of an endpoint's conditions in the Service's EndpointSlices, as this process saw it. */
  changes: EndpointChange[];
  /** Each change of a host's health in Envoy's cluster (polled every 250 ms; a host that left counts as unhealthy): when the caller stopped routing to it. */
  health: Array<{ at: number; address: string; healthy: boolean }>;
  /** Each EDS update this caller's control plane pushed. */
  published: Array<{ at: number; addresses: string[] }>;
  /** The addresses Envoy's cluster holds and their health (`/clusters`). */
  hosts(): Promise<Array<{ address: string; healthy: boolean }>>;
  /** Resolves once Envoy holds exactly `count` healthy hosts and answers 20 requests in a row with 200. */
  waitForHealthy(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface CallerOptions {
  namespace: string;
  service: string;
  /** The pods' port the caller sends to and health-checks (e.g. Envoy's ingress, 15000). */
  port: number;
  healthPath: string;
}

const eds = (cluster: string, addresses: string[], port: number) => ({
  version_info: String(Date.now()),
  resources: [
    {
      '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      cluster_name: cluster,
      endpoints: [
        {
          lb_endpoints: addresses.map((address) => ({
            endpoint: { address: { socket_address: { address, port_value: port } } },
          })),
        },
      ],
    },
  ],
});

const bootstrap = (dir: string, healthPath: string) => ({
  admin: { address: { pipe: { path: path.join(dir, 'admin.sock') } } },
  node: { id: 'caller', cluster: 'caller' },
  static_resources: {
    listeners: [
      {
        name: 'caller',
        address: { pipe: { path: path.join(dir, 'caller.sock') } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'caller',
                  route_config: {
                    virtual_hosts: [
                      {
                        name: 'service',
                        domains: ['*'],
                        // No retries: every failure the pods cause reaches the client and is counted.
                        routes: [{ match: { prefix: '/' }, route: { cluster: 'service', timeout: '10s' } }],
                      },
                    ],
                  },
                  http_filters: [
                    {
                      name: 'envoy.filters.http.router',
                      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
    clusters: [
      {
        name: 'service',
        type: 'EDS',
        connect_timeout: '1s',
        eds_cluster_config: {
          eds_config: { resource_api_version: 'V3', path_config_source: { path: path.join(dir, 'eds.json') } },
        },
        // A stopping pod leaves when its health check fails, whatever EDS says meanwhile.
        health_checks: [
          {
            timeout: '1s',
            interval: '1s',
            unhealthy_threshold: 2,
            healthy_threshold: 1,
            http_health_check: { path: healthPath },
          },
        ],
        // Two replicas, one of them draining, is 50% healthy: no panic routing to the failed one.
        common_lb_config: { healthy_panic_threshold: { value: 0 } },
      },
    ],
  },
});

function adminGet(dir: string, pathAndQuery: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path.join(dir, 'admin.sock'), path: pathAndQuery, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.once('timeout', () => req.destroy(new Error('admin: no answer within 5 s')));
    req.once('error', reject);
    req.end();
  });
}

function getThrough(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/', agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.once('error', reject);
    req.end();
  });
}

export async function startCaller(api: KubeApi, options: CallerOptions): Promise<CallerEnvoy> {
  const dir = mkdtempSync('/tmp/task-helper-caller-');
  const edsFile = path.join(dir, 'eds.json');
  // Envoy watches the file for a rename into place (an atomic update), never a write in place.
  const published: CallerEnvoy['published'] = [];
  const publish = (addresses: string[]): void => {
    published.push({ at: Date.now(), addresses });
    writeFileSync(`${edsFile}.next`, JSON.stringify(eds('service', addresses, options.port)));
    renameSync(`${edsFile}.next`, edsFile);
  };
  publish([]);
  writeFileSync(path.join(dir, 'envoy.json'), JSON.stringify(bootstrap(dir, options.healthPath)));

  const changes: EndpointChange[] = [];
  const slices = new Map<string, KubeObject>();
  const current = new Map<string, EndpointChange>();
  const onSlice = ({ type, object, at }: { type: string; object: KubeObject; at: number }): void => {
    if (type === 'BOOKMARK' || type === 'ERROR') return;
    if (type === 'DELETED') slices.delete(object.metadata.name);
    else slices.set(object.metadata.name, object);
    const seen = new Set<string>();
    for (const slice of slices.values()) {
      for (const endpoint of (slice.endpoints as KubeObject[]) ?? []) {
        for (const address of endpoint.addresses as string[]) {
          seen.add(address);
          const c = endpoint.conditions ?? {};
          const next = {
            at,
            address,
            pod: endpoint.targetRef?.name ?? '',
            ready: c.ready !== false,
            serving: c.serving !== false,
            terminating: c.terminating === true,
          };
          const last = current.get(address);
          if (
            !last ||
            last.ready !== next.ready ||
            last.serving !== next.serving ||
            last.terminating !== next.terminating
          ) {
            current.set(address, next);
            changes.push(next);
          }
        }
      }
    }
    for (const address of [...current.keys()])
      if (!seen.has(address)) {
        const gone = current.get(address)!;
        changes.push({ ...gone, at, ready: false, serving: false });
        current.delete(address);
      }
    publish([...current.values()].filter((e) => e.ready).map((e) => e.address));
  };

  const child: ChildProcess = spawn(
    'nsenter',
    [
      `--net=/run/netns/${NODE_NETNS}`,
      envoyBinary,
      '-c',
      path.join(dir, 'envoy.json'),
      '--disable-hot-restart',
      '--base-id',
      String(40_000 + (process.pid % 10_000)),
      '--log-level',
      'warning',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => void lines.push(line));
  let exitedWith: string | undefined;
  const exited = once(child, 'close').then(([code, signal]) => {
    exitedWith = `caller Envoy exited with ${signal ?? `code ${code}`}: ${lines.slice(-10).join('\n')}`;
  });

  let watch: Watch | undefined;
  let poller: NodeJS.Timeout | undefined;
  const close = async (): Promise<void> => {
    clearInterval(poller);
    watch?.stop();
    if (!exitedWith) await terminate(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pollUntil(
      'caller Envoy /ready LIVE',
      async () => ((await adminGet(dir, '/ready')).trim() === 'LIVE' ? true : undefined),
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        stopped: () => exitedWith,
      },
    );
    watch = await api.listAndWatch(
      `/apis/discovery.k8s.io/v1/namespaces/${options.namespace}/endpointslices?labelSelector=${encodeURIComponent(
        `kubernetes.io/service-name=${options.service}`,
      )}`,
      onSlice,
    );
  } catch (error) {
    await close();
    throw error;
  }

  const hosts = async (): Promise<Array<{ address: string; healthy: boolean }>> => {
    const text = await adminGet(dir, '/clusters');
    const byHost = new Map<string, boolean>();
    for (const line of text.split('\n')) {
      const match = /^service::([\d.]+):\d+::health_flags::(.*)$/.exec(line);
      // A host gone from EDS but still passing its checks is `pending_dynamic_removal` and still routed to.
      if (match)
        byHost.set(
          match[1]!,
          // `healthy`, or each flag behind a slash: `/failed_active_hc/pending_dynamic_removal`.
          match[2]!
            .split('/')
            .filter(Boolean)
            .every((flag) => flag === 'healthy' || flag === 'pending_dynamic_removal'),
        );
    }
    return [...byHost].map(([address, healthy]) => ({ address, healthy }));
  };
  const health: CallerEnvoy['health'] = [];
  const lastHealth = new Map<string, boolean>();
  poller = setInterval(() => {
    hosts().then(
      (all) => {
        const at = Date.now();
        for (const { address, healthy } of all)
          if (lastHealth.get(address) !== healthy) {
            lastHealth.set(address, healthy);
            health.push({ at, address, healthy });
          }
        // A removed host that failed its check leaves the cluster at once: gone is not routed to either.
        for (const [address, healthy] of lastHealth)
          if (!all.some((h) => h.address === address)) {
            lastHealth.delete(address);
            if (healthy) health.push({ at, address, healthy: false });
          }
      },
      () => undefined,
    );
  }, 250);
  return {
    socketPath: path.join(dir, 'caller.sock'),
    changes,
    health,
    published,
    hosts,
    async waitForHealthy(count, timeoutMs) {
      await pollUntil(
        `caller Envoy: ${count} healthy hosts`,
        async () => {
          const all = await hosts();
          return all.length === count && all.every((h) => h.healthy) ? true : undefined;
        },
        { timeoutMs, intervalMs: 200, stopped: () => exitedWith },
      );
      // /clusters can say healthy a moment before the workers' load balancers route to the hosts.
      let inARow = 0;
      await pollUntil(
        'caller Envoy: 20 requests in a row answered 200',
        async () => {
          inARow = (await getThrough(path.join(dir, 'caller.sock'))) === 200 ? inARow + 1 : 0;
          return inARow >= 20 ? true : undefined;
        },
        { timeoutMs, intervalMs: 10, stopped: () => exitedWith },
      );
    },
    close,
  };
}
