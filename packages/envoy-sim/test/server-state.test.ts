import { afterEach, expect, it, vi } from 'vitest';
import { startEnvoySim, type EnvoySim } from '../src/index.ts';
import { adminGet, adminPost } from '../../../test/support/sim-stack.ts';

let sim: EnvoySim | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await sim?.close();
});

it('reports INITIALIZING with 503 until initializingMs has passed, then LIVE', async () => {
  // Only the sim's own timers are faked (sockets stay real), so "before" and "after" initializingMs
  // are steps of the test rather than windows of real time a busy machine may miss.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  sim = await startEnvoySim({ initializingMs: 50 });
  expect(await adminGet(sim, '/ready')).toMatchObject({ status: 503, body: 'INITIALIZING\n' });
  vi.advanceTimersByTime(49);
  expect(JSON.parse((await adminGet(sim, '/server_info')).body).state).toBe('INITIALIZING');

  vi.advanceTimersByTime(1);
  expect(await adminGet(sim, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
  expect(JSON.parse((await adminGet(sim, '/server_info')).body).state).toBe('LIVE');
});

it('reports DRAINING after /healthcheck/fail and LIVE again after /healthcheck/ok', async () => {
  sim = await startEnvoySim({});
  expect(await adminGet(sim, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });

  await adminPost(sim, '/healthcheck/fail');
  expect(await adminGet(sim, '/ready')).toMatchObject({ status: 503, body: 'DRAINING\n' });
  expect(JSON.parse((await adminGet(sim, '/server_info')).body).state).toBe('DRAINING');
  expect(sim.state()).toBe('DRAINING');

  await adminPost(sim, '/healthcheck/ok');
  expect(await adminGet(sim, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
  expect(sim.state()).toBe('LIVE');
});

it('serves /server_info as JSON with an Envoy version and protobuf-style durations', async () => {
  sim = await startEnvoySim({});
  const reply = await adminGet(sim, '/server_info');
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('application/json');
  const info = JSON.parse(reply.body);
  expect(info.version).toMatch(/^[0-9a-f]{40}\/1\.40\.\d+\/Clean\/RELEASE\/BoringSSL$/);
  expect(info.uptime_current_epoch).toMatch(/^\d+s$/);
  expect(info.uptime_all_epochs).toMatch(/^\d+s$/);
});
