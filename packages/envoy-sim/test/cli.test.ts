import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';

const cli = (name: string) => fileURLToPath(new URL(`../src/${name}`, import.meta.url));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts a CLI on Node 24 (the test runner's own binary) and reads its stdout as JSON lines. */
function start(name: string, args: string[]) {
  const child = spawn(process.execPath, [cli(name), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
  return { child, next };
}

// Each test runs its own process on its own ports, so they can overlap.
describe.concurrent('CLIs', () => {
it('envoy-sim prints its ready line, logs admin calls, and exits 0 on SIGTERM', async () => {
  const sim = start('cli.ts', ['--admin-port', '0', '--listener-port', '0', '--upstream', 'http://127.0.0.1:1']);
  const ready = await sim.next();
  expect(ready).toMatchObject({ msg: 'envoy-sim ready' });
  expect(ready.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(ready.listenerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

  expect((await fetch(`${ready.adminUrl}/healthcheck/fail`, { method: 'POST' })).status).toBe(200);
  expect(await sim.next()).toMatchObject({ msg: 'admin', method: 'POST', path: '/healthcheck/fail', status: 200 });

  sim.child.kill('SIGTERM');
  const [code] = await once(sim.child, 'exit');
  expect(code).toBe(0);
});

it('envoy-sim exits 0 after /quitquitquit', async () => {
  const sim = start('cli.ts', ['--initializing-ms', '0', '--stat-prefix', 'ingress']);
  const ready = await sim.next();
  const exited = once(sim.child, 'exit');
  expect((await fetch(`${ready.adminUrl}/quitquitquit`, { method: 'POST' })).status).toBe(200);
  const [code] = await exited;
  expect(code).toBe(0);
});

it('toy-app prints its ready line and serves', async () => {
  const app = start('toy-app-cli.ts', ['--port', '0']);
  const ready = await app.next();
  expect(ready).toMatchObject({ msg: 'toy-app ready' });
  expect(await (await fetch(`${ready.url}/ping/ping`)).text()).toBe('pong');
  app.child.kill('SIGTERM');
  const [code] = await once(app.child, 'exit');
  expect(code).toBe(0);
});
});
