import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envoyBinary } from './envoy-binary.ts';

/**
 * A real Envoy (.tools/bin/envoy) on loopback with the smallest bootstrap the contract and
 * traffic-aware tests need: admin, one inbound listener whose connection manager runs the health
 * check filter in front of a router to the app. Ports are picked by Envoy itself (port 0), read
 * back from `--admin-address-path` and `/listeners`, so parallel runs never collide.
 */

export interface RealEnvoyOptions {
  /** The app's port on 127.0.0.1. */
  upstreamPort: number;
  healthPath?: string;
  passThrough?: boolean;
  /** The ingress connection manager's stat_prefix; may contain dots. */
  statPrefix?: string;
  drainTimeS?: number;
}

export interface RealEnvoy {
  adminUrl: string;
  listenerUrl: string;
  statPrefix: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything Envoy logged (warnings and up). */
  log(): string;
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

let instances = 0;

export function realEnvoyConfig({ upstreamPort, healthPath = '/ping/ping', passThrough = true, statPrefix = 'ingress' }: RealEnvoyOptions): string {
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    traffic_direction: INBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${JSON.stringify(statPrefix)}
          # HAProxy's httpchk speaks HTTP/1.0 without a Host, which Envoy otherwise answers 426 (or 400).
          http_protocol_options: { accept_http_10: true, default_host_for_http_10: app }
          route_config:
            virtual_hosts:
            - { name: app, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: app } }] }
          http_filters:
          - name: envoy.filters.http.health_check
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck
              pass_through_mode: ${passThrough}
              headers: [{ name: ":path", string_match: { exact: ${JSON.stringify(healthPath)} } }]
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: app
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: app
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } } }] }]
`;
}

export async function startRealEnvoy(options: RealEnvoyOptions, { readyTimeoutMs = 15_000 } = {}): Promise<RealEnvoy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'task-helper-envoy-'));
  const configFile = path.join(dir, 'envoy.yaml');
  const addressFile = path.join(dir, 'admin.address');
  writeFileSync(configFile, realEnvoyConfig(options));
  instances += 1;
  const baseId = 40_000 + (process.pid % 1_000) * 20 + (instances % 20);
  const args = ['-c', configFile, '--disable-hot-restart', '--base-id', String(baseId), '--admin-address-path', addressFile, '-l', 'warning'];
  if (options.drainTimeS !== undefined) args.push('--drain-time-s', String(options.drainTimeS));
  const child = spawn(envoyBinary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => {
    running.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  let gone = false;
  void exited.then(() => (gone = true));

  const close = async () => {
    if (!gone) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + readyTimeoutMs;
    const poll = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
      for (;;) {
        if (gone) throw new Error(`envoy exited while waiting for ${what}:\n${log}`);
        const value = await probe().catch(() => undefined);
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`envoy: no ${what} within ${readyTimeoutMs} ms:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const adminUrl = await poll('admin address', async () => {
      const address = existsSync(addressFile) ? readFileSync(addressFile, 'utf8').trim() : '';
      return address ? `http://${address}` : undefined;
    });
    const listenerUrl = await poll('listener port', async () => {
      const { listener_statuses: listeners } = (await (await fetch(`${adminUrl}/listeners?format=json`)).json()) as {
        listener_statuses?: Array<{ local_address?: { socket_address?: { port_value?: number } } }>;
      };
      const port = listeners?.[0]?.local_address?.socket_address?.port_value;
      return port ? `http://127.0.0.1:${port}` : undefined;
    });
    await poll('LIVE on /ready', async () => ((await fetch(`${adminUrl}/ready`)).status === 200 ? true : undefined));
    return { adminUrl, listenerUrl, statPrefix: options.statPrefix ?? 'ingress', child, exited, log: () => log, close };
  } catch (error) {
    await close();
    throw error;
  }
}
