import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import type { EnvoySim, EnvoySimOptions, ToyApp } from '@task-helper/envoy-sim';
import { vi } from 'vitest';
import { startTask } from './task.ts';

// The envoy-sim package's own tests: the simulator in front of the toy app, and plain HTTP to both.

export interface Stack {
  app: ToyApp;
  sim: EnvoySim;
  close(): Promise<void>;
}

/** A toy app with a sim in front of it, both on ephemeral loopback ports (task.ts's simulated task). */
export async function startStack(options: EnvoySimOptions = {}): Promise<Stack> {
  const { app, envoy: sim, close } = await startTask(options);
  return { app, sim, close };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

/** node:http rather than fetch, so hop-by-hop headers such as Connection stay visible. */
export function send(
  url: string,
  init: { method?: string; agent?: Agent | false; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: init.method ?? 'GET', agent: init.agent ?? false, headers: init.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: req.reusedSocket }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

export const adminPost = (sim: EnvoySim, pathAndQuery: string) =>
  send(`${sim.adminUrl}${pathAndQuery}`, { method: 'POST' });
export const adminGet = (sim: EnvoySim, pathAndQuery: string) => send(`${sim.adminUrl}${pathAndQuery}`);

/** Reads one stat through /stats?format=json, as a client of real Envoy would. */
export async function readStat(sim: EnvoySim, name: string): Promise<number> {
  const reply = await adminGet(
    sim,
    `/stats?format=json&filter=${encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`)}`,
  );
  const { stats } = JSON.parse(reply.body) as { stats: Array<{ name?: string; value?: number }> };
  const stat = stats.find((s) => s.name === name);
  if (!stat || stat.value === undefined) throw new Error(`no stat ${name}`);
  return stat.value;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** vi.waitFor until `probe` returns something truthy, failing after a deadline instead of sleeping blindly. */
export function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 2000): Promise<Truthy<T>> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (!value) throw new Error(`timed out waiting for ${what}`);
      return value as Truthy<T>;
    },
    { timeout: timeoutMs, interval: 5 },
  );
}
