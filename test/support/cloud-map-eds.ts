import { DiscoverInstancesCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MOTO_REGION, type Moto } from './moto.ts';

/**
 * A mesh control plane's stand-in: polls Cloud Map (moto) with DiscoverInstances, HEALTHY
 * instances only, every `intervalMs`, and writes what it found as the EDS resource a caller Envoy
 * reads from a file (a path config source): written beside it, then renamed over it, the atomic
 * move Envoy watches the path for. A caller learns of a new task on the first poll after it
 * registered, as with App Mesh's or Consul's Cloud Map sync.
 */
export interface CloudMapEds {
  /** The EDS file (a DiscoveryResponse) for `eds_config.path_config_source.path`. */
  readonly path: string;
  /** The cluster name the resource is for. */
  readonly clusterName: string;
  /** Every poll so far: when it ended and the instance ids it wrote. */
  readonly polls: ReadonlyArray<{ at: number; instanceIds: string[] }>;
  /** Resolves right after the next poll has written its file. */
  nextPoll(): Promise<{ at: number; instanceIds: string[] }>;
  /** The first poll (after `since`) whose file listed `instanceId`. */
  learnedAt(instanceId: string, since?: number): number | undefined;
  close(): Promise<void>;
}

export async function startCloudMapEds(
  moto: Moto,
  {
    namespaceName,
    serviceName,
    clusterName = 'orders',
    intervalMs = 2_000,
  }: { namespaceName: string; serviceName: string; clusterName?: string; intervalMs?: number },
): Promise<CloudMapEds> {
  const dir = mkdtempSync(path.join(tmpdir(), 'task-helper-eds-'));
  const file = path.join(dir, 'eds.json');
  const client = new ServiceDiscoveryClient({
    region: MOTO_REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    // DiscoverInstances goes to data-<host> otherwise (docs: /work/shared/ENVOY.md, SDK and moto).
    disableHostPrefix: true,
  });
  const polls: Array<{ at: number; instanceIds: string[] }> = [];
  const waiters = new Set<(poll: { at: number; instanceIds: string[] }) => void>();
  let version = 0;
  let lastError: string | undefined;

  async function poll(): Promise<void> {
    try {
      const { Instances = [] } = await client.send(
        new DiscoverInstancesCommand({
          NamespaceName: namespaceName,
          ServiceName: serviceName,
          HealthStatus: 'HEALTHY',
        }),
      );
      const endpoints = Instances.map((i) => ({
        id: i.InstanceId!,
        ip: i.Attributes?.AWS_INSTANCE_IPV4 ?? '',
        port: Number(i.Attributes?.AWS_INSTANCE_PORT),
      })).sort((a, b) => a.id.localeCompare(b.id));
      version += 1;
      const resource = {
        version_info: String(version),
        resources: [
          {
            '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
            cluster_name: clusterName,
            endpoints: [
              {
                lb_endpoints: endpoints.map((e) => ({
                  endpoint: { address: { socket_address: { address: e.ip, port_value: e.port } } },
                })),
              },
            ],
          },
        ],
      };
      const next = path.join(dir, `eds.json.${version}`);
      writeFileSync(next, JSON.stringify(resource));
      renameSync(next, file);
      const done = { at: Date.now(), instanceIds: endpoints.map((e) => e.id) };
      polls.push(done);
      lastError = undefined;
      for (const wake of waiters) wake(done);
      waiters.clear();
    } catch (error) {
      // A control plane keeps the last endpoints it had when Cloud Map does not answer.
      lastError = error instanceof Error ? error.message : String(error);
    }
  }

  await poll();
  if (lastError) {
    rmSync(dir, { recursive: true, force: true });
    client.destroy();
    throw new Error(`the control plane stand-in's first DiscoverInstances failed: ${lastError}`);
  }
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const schedule = () => {
    timer = setTimeout(() => {
      running = poll().then(() => {
        if (!closed) schedule();
      });
    }, intervalMs);
  };
  schedule();

  return {
    path: file,
    clusterName,
    polls,
    nextPoll: () => new Promise((resolve) => waiters.add(resolve)),
    learnedAt: (instanceId, since = 0) => polls.find((p) => p.at >= since && p.instanceIds.includes(instanceId))?.at,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
      client.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
