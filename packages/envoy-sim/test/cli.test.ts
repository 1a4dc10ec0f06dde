import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const cli = (name: string) => fileURLToPath(new URL(`../src/${name}`, import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts a CLI on Node 24 (the test runner's own binary) and reads its stdout as JSON lines. */
function start(name: string, args: string[]) {
  const child = spawn(process.execPath, [cli(name), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, string>;
  return { child, next };
}

it('toy-app and envoy-sim print ready lines, proxy, log admin calls, and exit 0 on SIGTERM', async () => {
  const app = start('toy-app-cli.ts', ['--port', '0']);
  const appReady = await app.next();
  expect(appReady).toMatchObject({ msg: 'toy-app ready' });

  const sim = start('cli.ts', ['--admin-port', '0', '--listener-port', '0', '--upstream', appReady.url!]);
  const ready = await sim.next();
  expect(ready).toMatchObject({ msg: 'envoy-sim ready' });
  expect(ready.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(await (await fetch(`${ready.listenerUrl}/ping/ping`)).text()).toBe('pong');

  expect((await fetch(`${ready.adminUrl}/healthcheck/fail`, { method: 'POST' })).status).toBe(200);
  expect(await sim.next()).toMatchObject({ msg: 'admin', method: 'POST', path: '/healthcheck/fail', status: 200 });

  const exits = [once(sim.child, 'exit'), once(app.child, 'exit')];
  sim.child.kill('SIGTERM');
  app.child.kill('SIGTERM');
  expect((await Promise.all(exits)).map(([code]) => code)).toEqual([0, 0]);
});

it("envoy-sim --stat-set 1.29 shows 1.29's stats; any other value is refused with exit 2", async () => {
  const sim = start('cli.ts', ['--stat-set', '1.29']);
  const ready = await sim.next();
  expect(await (await fetch(`${ready.adminUrl}/stats?filter=health_check`)).text()).toBe(
    'http.ingress.tracing.health_check: 0\n',
  );
  const exited = once(sim.child, 'exit');
  sim.child.kill('SIGTERM');
  expect((await exited)[0]).toBe(0);

  const bad = spawn(process.execPath, [cli('cli.ts'), '--stat-set', '1.33'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  bad.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  expect((await once(bad, 'close'))[0]).toBe(2);
  expect(stderr.split('\n')[0]).toBe('--stat-set must be 1.40 or 1.29, got 1.33');
});

it('envoy-sim exits 0 after /quitquitquit', async () => {
  const sim = start('cli.ts', ['--initializing-ms', '0', '--stat-prefix', 'ingress']);
  const ready = await sim.next();
  const exited = once(sim.child, 'exit');
  expect((await fetch(`${ready.adminUrl}/quitquitquit`, { method: 'POST' })).status).toBe(200);
  const [code] = await exited;
  expect(code).toBe(0);
});
