import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './free-port.ts';
import { pollUntil } from './poll.ts';
import { terminate } from './terminate.ts';

/**
 * A real HAProxy (`haproxy -f cfg -db`, foreground) on loopback in front of some "tasks" (each an
 * Envoy simulator listener), configured as a typical load balancer with active HTTP health checks:
 * keep-alive to clients and to servers, `retries 0` and no `option redispatch`, so every failure
 * reaches the client.
 */

interface HaproxyServer {
  /** Server name in HAProxy (also sent back in the `x-served-by` response header). */
  name: string;
  /** Where it listens: the Envoy simulator's ingress listener. */
  url: string;
}

export interface HealthCheckTiming {
  /** Milliseconds between checks (`inter`). */
  interMs: number;
  /** Consecutive failed checks that mark a server DOWN (`fall`). */
  fall: number;
  /** Consecutive passed checks that mark it UP again (`rise`). */
  rise: number;
}

export const defaultHealthCheck: HealthCheckTiming = Object.freeze({ interMs: 500, fall: 2, rise: 2 });

/** inter × fall: how long after `/healthcheck/fail` HAProxy may still route to the task. */
export const detectionLimitMs = (timing: HealthCheckTiming = defaultHealthCheck): number =>
  timing.interMs * timing.fall;

export interface HaproxyOptions {
  servers: HaproxyServer[];
  healthPath?: string;
  healthCheck?: HealthCheckTiming;
}

/** One row of `show stat` (only the columns used here, plus every raw column). */
interface ServerStat {
  name: string;
  /** 'UP', 'DOWN', 'UP 1/2' (going down), 'DOWN 1/2' (going up), 'MAINT', 'no check' … */
  status: string;
  /** Last check result, e.g. 'L7OK', 'L7STS' (wrong status), 'L4CON' (connection refused). */
  checkStatus: string;
  /** Requests / sessions this server has handled. */
  sessions: number;
  raw: Record<string, string>;
}

export interface HaproxyLine {
  at: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface Haproxy {
  /** The frontend, e.g. http://127.0.0.1:41234. */
  url: string;
  port: number;
  dir: string;
  configText: string;
  child: ChildProcess;
  /** Every line HAProxy printed (its log goes to stdout; state changes and alerts to stderr). */
  lines: HaproxyLine[];
  healthCheck: HealthCheckTiming;
  /** Runs one command on the admin socket and returns the answer. */
  command(cmd: string): Promise<string>;
  servers(): Promise<ServerStat[]>;
  server(name: string): Promise<ServerStat>;
  /** Polls `show stat` until `test` holds for that server; rejects with the last row after `timeoutMs` or once HAProxy has exited. */
  waitForServer(name: string, test: (stat: ServerStat) => boolean, timeoutMs?: number): Promise<ServerStat>;
  /** Resolves with the first line (already printed or still to come) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<HaproxyLine>;
  /** Kills HAProxy (SIGTERM: in -db mode it stops at once; SIGKILL after a second) and removes its folder. */
  close(): Promise<void>;
}

/** Every HAProxy still running, so afterEach/afterAll (or process exit) can kill them whatever happened. */
const running = new Set<Haproxy>();

process.once('exit', () => {
  for (const haproxy of running) haproxy.child.kill('SIGKILL');
});

/** Kills every HAProxy this process started and has not closed yet. */
export async function closeAllHaproxies(): Promise<void> {
  await Promise.all([...running].map((haproxy) => haproxy.close()));
}

/** HAPROXY from the environment, else `haproxy` on PATH, else Debian's /usr/sbin/haproxy. */
function haproxyBinary(): string {
  if (process.env.HAPROXY) return process.env.HAPROXY;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/local/sbin'])) {
    const candidate = path.join(dir, 'haproxy');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error('haproxy not found (install it with scripts/install-haproxy.sh, or set HAPROXY)');
}

/**
 * What a test does without HAProxy (scripts/install-haproxy.sh needs apt-get): in CI (CI=true)
 * that is an error, so a broken `make setup` is never a green run; elsewhere the suite is skipped
 * with this message (as real-envoy.ts's realEnvoyMissing does for Envoy).
 */
export function haproxyMissing(): string | undefined {
  let message: string;
  try {
    const binary = haproxyBinary();
    if (existsSync(binary)) return undefined;
    message = `HAPROXY=${binary} does not exist`;
  } catch (error) {
    message = (error as Error).message;
  }
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the HAProxy tests must run)`);
  return message;
}

/** `haproxy -v`'s first line, for reports. */
export function haproxyVersion(): string {
  const out = spawnSync(haproxyBinary(), ['-v'], { encoding: 'utf8' });
  return out.stdout.split('\n')[0] ?? 'unknown';
}

export function haproxyConfig(
  { servers, healthPath = '/ping/ping', healthCheck = defaultHealthCheck }: HaproxyOptions,
  port: number,
  socket: string,
): string {
  const { interMs, fall, rise } = healthCheck;
  return `global
    stats socket ${socket} mode 600 level admin
    maxconn 2000
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    # Log only what went wrong (5xx, resets, timeouts); health state changes are logged too.
    option dontlog-normal
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
    timeout http-request 10s
    timeout check 1s
    # Every failure must reach the client: no retry, no redispatch to another server.
    retries 0

frontend fe
    bind 127.0.0.1:${port}
    default_backend tasks

backend tasks
    balance roundrobin
    # Keep-alive both sides (HAProxy's default mode); idle server connections are shared safely.
    option http-keep-alive
    http-reuse safe
    # HTTP/1.1 checks, as AWS load balancers send them (Envoy answers HTTP/1.0 with 426 by default).
    option httpchk
    http-check send meth GET uri ${healthPath} ver HTTP/1.1 hdr Host task
    http-check expect status 200
    default-server inter ${interMs} fall ${fall} rise ${rise}
    http-response set-header x-served-by %s
    # Tests only: a request may ask for a given task (e.g. to put slow requests on the task that drains).
${servers.map((s) => `    use-server ${s.name} if { req.hdr(x-pin-task) -m str ${s.name} }`).join('\n')}
${servers.map((s) => `    server ${s.name} ${new URL(s.url).host} check`).join('\n')}
`;
}

/**
 * Starts HAProxy in front of `servers` and resolves once every server is UP with a passed check.
 * The frontend port is picked free and retried if another process takes it first.
 */
export async function startHaproxy(options: HaproxyOptions, { readyTimeoutMs = 5_000 } = {}): Promise<Haproxy> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const haproxy = await launch(options, await freePort());
    try {
      for (const { name } of options.servers) {
        await haproxy.waitForServer(name, (s) => s.status === 'UP' && s.checkStatus === 'L7OK', readyTimeoutMs);
      }
      return haproxy;
    } catch (error) {
      lastError = error;
      const bindFailed = haproxy.lines.some((l) => /cannot bind|Address already in use/i.test(l.text));
      await haproxy.close();
      if (!bindFailed) break;
    }
  }
  throw lastError;
}

async function launch(options: HaproxyOptions, port: number): Promise<Haproxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'task-helper-haproxy-'));
  const socket = path.join(dir, 'admin.sock');
  const configText = haproxyConfig(options, port, socket);
  const configFile = path.join(dir, 'haproxy.cfg');
  writeFileSync(configFile, configText);

  const child = spawn(haproxyBinary(), ['-f', configFile, '-db'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: HaproxyLine[] = [];
  const waiters = new Set<() => void>();
  const collect = (stream: 'stdout' | 'stderr') => (text: string) => {
    lines.push({ at: Date.now(), stream, text });
    for (const wake of waiters) wake();
  };
  createInterface({ input: child.stdout! }).on('line', collect('stdout'));
  createInterface({ input: child.stderr! }).on('line', collect('stderr'));
  let exitedWith: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      exitedWith = `failed to start: ${error.message}`;
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitedWith = `exited with ${signal ?? `code ${code}`}`;
      resolve();
    });
  });
  const output = () => lines.map((l) => `${l.stream}: ${l.text}`).join('\n');

  const command = (cmd: string): Promise<string> =>
    new Promise((resolve, reject) => {
      if (exitedWith) return reject(new Error(`haproxy ${exitedWith}:\n${output()}`));
      const conn = connect(socket);
      let answer = '';
      conn.setEncoding('utf8');
      conn.setTimeout(2_000, () => conn.destroy(new Error(`no answer to "${cmd}" on the admin socket`)));
      conn.on('data', (chunk: string) => void (answer += chunk));
      conn.once('error', reject);
      conn.once('close', (hadError) => hadError || resolve(answer));
      conn.end(`${cmd}\n`);
    });

  const servers = async (): Promise<ServerStat[]> => {
    const [header = '', ...rows] = (await command('show stat')).split('\n').filter((l) => l.trim() !== '');
    const columns = header.replace(/^#\s*/, '').split(',');
    return rows
      .map((row) => Object.fromEntries(row.split(',').map((value, i) => [columns[i] ?? String(i), value])))
      .filter((r) => r.pxname === 'tasks' && r.svname !== 'BACKEND')
      .map((r) => ({
        name: r.svname ?? '',
        status: r.status ?? '',
        checkStatus: (r.check_status ?? '').replace(/^\* ?/, ''),
        sessions: Number(r.stot ?? 0),
        raw: r,
      }));
  };
  const server = async (name: string): Promise<ServerStat> => {
    const found = (await servers()).find((s) => s.name === name);
    if (!found) throw new Error(`haproxy has no server ${name}`);
    return found;
  };

  const haproxy: Haproxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    configText,
    child,
    lines,
    healthCheck: options.healthCheck ?? defaultHealthCheck,
    command,
    servers,
    server,
    waitForServer(name, test, timeoutMs = 5_000) {
      // The socket appears a moment after start; once HAProxy has exited, the wait is over.
      return pollUntil(
        `haproxy server ${name}`,
        async () => {
          const stat = await server(name);
          if (test(stat)) return stat;
          throw new Error(`${stat.status} (${stat.checkStatus})`);
        },
        { timeoutMs, intervalMs: 25, stopped: () => exitedWith },
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${output()}`);
      });
    },
    waitForLine(pattern, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find((l) => pattern.test(l.text));
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no haproxy line matching ${pattern} within ${timeoutMs} ms:\n${output()}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      running.delete(haproxy);
      if (!exitedWith) await terminate(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(haproxy);
  // Wait for HAProxy to either be running (its socket answers) or fail to start.
  await Promise.race([exited, once(child, 'spawn')]);
  return haproxy;
}
