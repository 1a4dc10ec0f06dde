import { afterEach, expect, it } from 'vitest';
import {
  adminGet,
  adminPost,
  readStat,
  send,
  startStack,
  waitFor,
  type Stack,
} from '../../../test/support/sim-stack.ts';

let stack: Stack | undefined;
afterEach(() => stack?.close());

it('counts exactly the requests proxied on the ingress listener', async () => {
  stack = await startStack();
  const { sim } = stack;
  const before = await readStat(sim, 'http.ingress.downstream_rq_total');
  const before2xx = await readStat(sim, 'http.ingress.downstream_rq_2xx');
  for (let i = 0; i < 5; i++) await send(`${sim.listenerUrl}/item/${i}`);

  expect(await readStat(sim, 'http.ingress.downstream_rq_total')).toBe(before + 5);
  expect(await readStat(sim, 'http.ingress.downstream_rq_2xx')).toBe(before2xx + 5);
  expect(await readStat(sim, 'http.ingress.downstream_cx_total')).toBe(5);
});

it('shows a slow request as active while it is in flight and not after', async () => {
  stack = await startStack();
  const { sim } = stack;
  expect(await readStat(sim, 'http.ingress.downstream_rq_active')).toBe(0);

  const slow = send(`${sim.listenerUrl}/slow?ms=200`);
  await waitFor('rq_active > 0', async () => (await readStat(sim, 'http.ingress.downstream_rq_active')) > 0);
  expect(await readStat(sim, 'http.ingress.downstream_cx_active')).toBe(1);
  expect(await readStat(sim, `listener.127.0.0.1_${new URL(sim.listenerUrl).port}.downstream_cx_active`)).toBe(1);
  expect(await readStat(sim, 'server.total_connections')).toBe(1);

  expect((await slow).status).toBe(200);
  await waitFor(
    'the connection to close',
    async () => (await readStat(sim, 'http.ingress.downstream_cx_active')) === 0,
  );
  expect(await readStat(sim, 'http.ingress.downstream_rq_active')).toBe(0);
});

it('counts admin requests under http.admin, never under the ingress prefix', async () => {
  stack = await startStack();
  const { sim } = stack;
  // Each /stats read is itself an admin request, counted before the values are rendered.
  const adminBefore = await readStat(sim, 'http.admin.downstream_rq_total');
  for (let i = 0; i < 4; i++) await adminGet(sim, '/ready');
  expect(await readStat(sim, 'http.admin.downstream_rq_total')).toBe(adminBefore + 5);
  expect(await readStat(sim, 'http.admin.downstream_rq_active')).toBe(1);

  expect(await readStat(sim, 'http.ingress.downstream_rq_total')).toBe(0);
  expect(await readStat(sim, 'http.ingress.downstream_rq_active')).toBe(0);
  expect(await readStat(sim, 'http.ingress.downstream_cx_total')).toBe(0);
});

it('uses the configured stat prefix and counts 5xx answers', async () => {
  stack = await startStack({ statPrefix: 'app_in', upstream: 'http://127.0.0.1:1' });
  const { sim } = stack;
  expect((await send(`${sim.listenerUrl}/`)).status).toBe(503);
  expect(await readStat(sim, 'http.app_in.downstream_rq_5xx')).toBe(1);
  expect(await readStat(sim, 'http.app_in.downstream_rq_total')).toBe(1);
});

it('puts counters back to 0 on /reset_counters but leaves gauges alone', async () => {
  stack = await startStack();
  const { sim } = stack;
  await send(`${sim.listenerUrl}/`);
  expect(await readStat(sim, 'http.ingress.downstream_rq_total')).toBe(1);
  await send(`${sim.adminUrl}/reset_counters`, { method: 'POST' });
  expect(await readStat(sim, 'http.ingress.downstream_rq_total')).toBe(0);
  expect(await readStat(sim, 'server.state')).toBe(0);
});

it('counts health checks in downstream_rq_total and tracing.health_check, never in completed or the status classes', async () => {
  stack = await startStack();
  const { sim } = stack;
  const health = `${sim.listenerUrl}/ping/ping`;
  await send(health);
  await send(`${sim.listenerUrl}/`);
  await adminPost(sim, '/healthcheck/fail');
  expect((await send(health)).status).toBe(503);

  expect(await readStat(sim, 'http.ingress.downstream_rq_total')).toBe(3);
  expect(await readStat(sim, 'http.ingress.downstream_rq_completed')).toBe(1);
  expect(await readStat(sim, 'http.ingress.downstream_rq_2xx')).toBe(1);
  expect(await readStat(sim, 'http.ingress.downstream_rq_5xx')).toBe(0);
  await waitFor(
    'both health checks counted',
    async () => (await readStat(sim, 'http.ingress.tracing.health_check')) === 2,
  );
  // 1.40's filter counts only the check it answered itself (the 503); the passed-through one is the app's.
  expect(await readStat(sim, 'http.ingress.health_check.request_total')).toBe(1);
  expect(await readStat(sim, 'http.ingress.health_check.ok')).toBe(0);
  expect(await readStat(sim, 'http.ingress.health_check.failed')).toBe(1);
});

it('has no health_check.* counters with the 1.29 stat set, and reports a 1.29 version', async () => {
  stack = await startStack({ statSet: '1.29' });
  const { sim } = stack;
  await send(`${sim.listenerUrl}/ping/ping`);
  // Counted as the stream ends, which may be just after the client has its answer.
  await waitFor(
    'the health check counted',
    async () => (await readStat(sim, 'http.ingress.tracing.health_check')) === 1,
  );
  expect((await adminGet(sim, '/stats?filter=health_check')).body).toBe('http.ingress.tracing.health_check: 1\n');
  expect(JSON.parse((await adminGet(sim, '/server_info')).body).version).toMatch(/^[0-9a-f]{40}\/1\.29\.\d+\//);
});
