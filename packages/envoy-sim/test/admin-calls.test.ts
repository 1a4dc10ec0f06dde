import { afterEach, expect, it } from 'vitest';
import { startEnvoySim, type AdminCall, type EnvoySim } from '../src/index.ts';
import { adminGet, adminPost } from '../../../test/support/sim-stack.ts';

let sim: EnvoySim | undefined;
afterEach(() => sim?.close());

it('records every admin request in order, with its query and answer status, and emits each', async () => {
  sim = await startEnvoySim({});
  const emitted: AdminCall[] = [];
  sim.on('admin', (call) => emitted.push(call));
  const start = Date.now();

  await adminGet(sim, '/healthcheck/fail');
  await adminPost(sim, '/healthcheck/fail');
  await adminGet(sim, '/stats?usedonly&filter=ingress');
  await adminPost(sim, '/drain_listeners?graceful');

  expect(sim.calls.map(({ method, path, query, status }) => ({ method, path, query, status }))).toEqual([
    { method: 'GET', path: '/healthcheck/fail', query: '', status: 405 },
    { method: 'POST', path: '/healthcheck/fail', query: '', status: 200 },
    { method: 'GET', path: '/stats', query: 'usedonly&filter=ingress', status: 200 },
    { method: 'POST', path: '/drain_listeners', query: 'graceful', status: 200 },
  ]);
  expect(emitted).toEqual(sim.calls);
  const times = sim.calls.map((c) => c.at);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(times[0]).toBeGreaterThanOrEqual(start);
});
