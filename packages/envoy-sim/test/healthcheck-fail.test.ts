import { Agent } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { adminPost, send, startStack, type Stack } from '../../../test/support/sim-stack.ts';

let stack: Stack | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  agent?.destroy();
  await stack?.close();
});

it('answers the health path with a local 503 and an empty body once failed, without asking the app', async () => {
  stack = await startStack({ passThrough: true });
  const { sim, app } = stack;
  expect(await send(`${sim.listenerUrl}/ping/ping`)).toMatchObject({ status: 200, body: 'pong' });

  await adminPost(sim, '/healthcheck/fail');
  const before = app.requests;
  const reply = await send(`${sim.listenerUrl}/ping/ping`);
  expect(reply.status).toBe(503);
  expect(reply.body).toBe('');
  expect(app.requests).toBe(before);
});

it('keeps serving other requests, marked with the immediate-fail header and Connection: close', async () => {
  stack = await startStack();
  const { sim } = stack;
  // A keep-alive client, so that Connection: close can only come from the sim.
  agent = new Agent({ keepAlive: true });
  const healthy = await send(`${sim.listenerUrl}/orders`, { agent });
  expect(healthy.headers['x-envoy-immediate-health-check-fail']).toBeUndefined();
  expect(healthy.headers.connection).toBe('keep-alive');

  await adminPost(sim, '/healthcheck/fail');
  const failed = await send(`${sim.listenerUrl}/orders`, { agent });
  expect(failed).toMatchObject({ status: 200, body: 'hello from the app' });
  expect(failed.headers['x-envoy-immediate-health-check-fail']).toBe('true');
  expect(failed.headers.connection).toBe('close');

  await adminPost(sim, '/healthcheck/ok');
  const restored = await send(`${sim.listenerUrl}/orders`, { agent });
  expect(restored.headers['x-envoy-immediate-health-check-fail']).toBeUndefined();
  expect(restored.headers.connection).toBe('keep-alive');
  expect(await send(`${sim.listenerUrl}/ping/ping`)).toMatchObject({ status: 200, body: 'pong' });
});

it('answers health checks locally with 200 when pass-through is off', async () => {
  stack = await startStack({ passThrough: false });
  const { sim, app } = stack;
  const reply = await send(`${sim.listenerUrl}/ping/ping`);
  expect(reply).toMatchObject({ status: 200, body: '' });
  expect(app.requests).toBe(0);

  await adminPost(sim, '/healthcheck/fail');
  expect(await send(`${sim.listenerUrl}/ping/ping`)).toMatchObject({ status: 503, body: '' });
});

it('matches the configured health path only', async () => {
  stack = await startStack({ healthPath: '/health' });
  await adminPost(stack.sim, '/healthcheck/fail');
  expect((await send(`${stack.sim.listenerUrl}/health`)).status).toBe(503);
  expect((await send(`${stack.sim.listenerUrl}/ping/ping`)).status).toBe(200);
});
