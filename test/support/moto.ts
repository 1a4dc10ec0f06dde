import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { vi } from 'vitest';
import { motoServerBinary } from './envoy-binary.ts';
import { freePort } from './free-port.ts';

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
  try {
    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) return;
        // Refused until it listens.
        if (!(await fetch(`${url}/moto-api/data.json`)).ok) throw new Error('not ready');
      },
      { timeout: 15_000, interval: 100 },
    );
  } catch {
    child.kill('SIGKILL');
    throw new Error(`moto_server did not answer on ${url} within 15 s:\n${stderr}`);
  }
  if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}):\n${stderr}`);
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
