import { Agent } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { adminPost, readStat, send, startStack, waitFor, type Stack } from '../../../test/support/sim-stack.ts';

let stack: Stack | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  agent?.destroy();
  await stack?.close();
});

it('lets a request already in flight complete normally across /healthcheck/fail', async () => {
  stack = await startStack();
  const { sim } = stack;
  agent = new Agent({ keepAlive: true });
  const slow = send(`${sim.listenerUrl}/slow?ms=200`, { agent });
  await waitFor(
    'the request to be in flight',
    async () => (await readStat(sim, 'http.ingress.downstream_rq_active')) === 1,
  );

  expect((await adminPost(sim, '/healthcheck/fail')).status).toBe(200);
  const reply = await slow;
  expect(reply.status).toBe(200);
  expect(reply.body).toBe('slept 200 ms');
  // Its response was encoded after the fail, so it carries the fail header and is drain-closed.
  expect(reply.headers['x-envoy-immediate-health-check-fail']).toBe('true');
  expect(reply.headers.connection).toBe('close');
});
