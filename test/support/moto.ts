import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { motoServerBinary } from './envoy-binary.ts';
import { freePort } from './free-port.ts';
import { pollUntil } from './poll.ts';

export interface Moto {
  /** http://127.0.0.1:<port>: AWS_ENDPOINT_URL for every client. */
  readonly url: string;
  /** Env for the helper and the tests' own clients: endpoint, region, moto's default credentials. */
  readonly env: Record<string, string>;
  /** POST /moto-api/reset: every resource gone. */
  reset(): Promise<void>;
  /** POST /moto-api/reset-auth: IAM enforced after `afterRequests` more requests (`Infinity`: never). */
  enforceIam(afterRequests: number): Promise<void>;
  /** moto's own log (its tracebacks, when it cannot answer a call). */
  stderr(): string;
  close(): Promise<void>;
}

export const MOTO_REGION = 'us-west-2';

/** moto's server on a free loopback port, answering before this resolves; killed by close(). */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(motoServerBinary, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  // pollUntil, not vi.waitFor: the deploy bench (bench/deploy.ts) starts moto outside vitest.
  try {
    await pollUntil(
      'moto_server answering',
      // Refused until it listens.
      async () => ((await fetch(`${url}/moto-api/data.json`)).ok ? true : undefined),
      {
        timeoutMs: 15_000,
        intervalMs: 100,
        stopped: () => (child.exitCode === null ? undefined : `moto_server exited (${child.exitCode})`),
      },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message} on ${url}:\n${stderr}`);
  }
  const post = async (path: string, body?: string) => {
    const response = await fetch(`${url}${path}`, { method: 'POST', ...(body === undefined ? {} : { body }) });
    if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status} ${await response.text()}`);
  };
  return {
    url,
    env: {
      AWS_ENDPOINT_URL: url,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    },
    reset: () => post('/moto-api/reset'),
    stderr: () => stderr,
    enforceIam: (afterRequests) =>
      post('/moto-api/reset-auth', Number.isFinite(afterRequests) ? String(afterRequests) : 'inf'),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
