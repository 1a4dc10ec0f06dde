import { afterEach, expect, it } from 'vitest';
import { startEnvoySim, type EnvoySim } from '../src/index.ts';
import { adminGet, adminPost, waitFor } from '../../../test/support/sim-stack.ts';

let sim: EnvoySim | undefined;
afterEach(() => sim?.close());

it('reports INITIALIZING with 503 until initializingMs has passed, then LIVE', async () => {
  sim = await startEnvoySim({ initializingMs: 50 });
  const early = await adminGet(sim, '/ready');
  expect(early).toMatchObject({ status: 503, body: 'INITIALIZING\n' });
  expect(JSON.parse((await adminGet(sim, '/server_info')).body).state).toBe('INITIALIZING');

  const live = await waitFor('LIVE', async () => {
    const reply = await adminGet(sim!, '/ready');
    return reply.status === 200 && reply;
  });
  expect(live.body).toBe('LIVE\n');
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
  expect(info.version).toMatch(/^1\.\d+\.\d+\/[0-9a-f]{40}\//);
  expect(info.uptime_current_epoch).toMatch(/^\d+s$/);
  expect(info.uptime_all_epochs).toMatch(/^\d+s$/);
});
