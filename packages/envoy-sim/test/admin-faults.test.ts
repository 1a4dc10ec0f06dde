import { afterEach, expect, it } from 'vitest';
import { startEnvoySim, type EnvoySim } from '../src/index.ts';
import { adminGet, adminPost, waitFor } from '../../../test/support/sim-stack.ts';

let sim: EnvoySim | undefined;
afterEach(() => sim?.close());

it('answers a faulted path with the configured status and body, without doing its job', async () => {
  sim = await startEnvoySim({ adminFaults: { '/healthcheck/fail': { status: 503, body: 'broken\n' } } });
  expect(await adminPost(sim, '/healthcheck/fail')).toMatchObject({ status: 503, body: 'broken\n' });
  expect(sim.healthCheckFailed()).toBe(false);
  expect(sim.calls.at(-1)).toMatchObject({ path: '/healthcheck/fail', status: 503 });
  // Other paths are unaffected.
  expect((await adminGet(sim, '/ready')).status).toBe(200);
});

it('delays a faulted answer by delayMs', async () => {
  sim = await startEnvoySim({ adminFaults: { '/ready': { status: 200, body: 'LIVE\n', delayMs: 60 } } });
  const started = Date.now();
  expect(await adminGet(sim, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(55);
});

it('reads faults on every request, so a test can heal an endpoint', async () => {
  const adminFaults: Record<string, { status: number }> = { '/healthcheck/fail': { status: 500 } };
  sim = await startEnvoySim({ adminFaults });
  expect((await adminPost(sim, '/healthcheck/fail')).status).toBe(500);
  delete adminFaults['/healthcheck/fail'];
  expect((await adminPost(sim, '/healthcheck/fail')).status).toBe(200);
  expect(sim.healthCheckFailed()).toBe(true);
});

it('closes promptly while a delayed fault is pending', async () => {
  sim = await startEnvoySim({ adminFaults: { '/ready': { status: 200, delayMs: 60_000 } } });
  const pending = adminGet(sim, '/ready').catch((err: unknown) => err);
  await waitFor('the call to arrive', () => sim!.calls.length === 1);
  const started = Date.now();
  await sim.close();
  expect(Date.now() - started).toBeLessThan(1000);
  expect(await pending).toBeInstanceOf(Error);
  expect(sim.calls[0]?.status).toBe(0);
});

it('stall: sends the status line and the body, then never ends the answer', async () => {
  sim = await startEnvoySim({ adminFaults: { '/healthcheck/fail': { status: 200, body: 'OK\n', stream: 'stall' } } });
  const controller = new AbortController();
  const response = await fetch(`${sim.adminUrl}/healthcheck/fail`, { method: 'POST', signal: controller.signal });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  expect(Buffer.from((await reader.read()).value!).toString()).toBe('OK\n');
  // The answer is still open: the next read is pending until the sim closes the connection.
  const next = reader.read().then(
    () => 'ended',
    () => 'cut',
  );
  await sim.close();
  expect(await next).toBe('cut');
});

it('flood: sends its body without end, as fast as it is read', async () => {
  sim = await startEnvoySim({ adminFaults: { '/stats': { status: 200, body: 'stat: 1\n', stream: 'flood' } } });
  const response = await fetch(`${sim.adminUrl}/stats`);
  const reader = response.body!.getReader();
  let size = 0;
  while (size < 4 * 1024 * 1024) size += (await reader.read()).value!.byteLength;
  await reader.cancel();
  expect(size).toBeGreaterThanOrEqual(4 * 1024 * 1024);
});
