import { Agent } from 'node:http';
import { connect } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { adminPost, send, startStack, waitFor, type Stack } from '../../../test/support/sim-stack.ts';

let stack: Stack | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  agent?.destroy();
  await stack?.close();
});

/** Resolves true if a TCP connection to the URL's port is accepted, false if refused. */
function accepts(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it('stops accepting new connections at once but keeps serving open ones', async () => {
  stack = await startStack();
  const { sim } = stack;
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
  expect((await send(`${sim.listenerUrl}/a`, { agent })).status).toBe(200);

  expect(await adminPost(sim, '/drain_listeners')).toMatchObject({ status: 200, body: 'OK\n' });
  expect(await accepts(sim.listenerUrl)).toBe(false);
  const reused = await send(`${sim.listenerUrl}/b`, { agent });
  expect(reused).toMatchObject({ status: 200, reusedSocket: true });
  // The admin API stays up; only listeners were drained.
  expect((await send(`${sim.adminUrl}/ready`)).status).toBe(200);
});

it('with ?graceful, drain-closes connections for the drain time, then stops the listener', async () => {
  stack = await startStack({ drainTimeS: 0.05 });
  const { sim } = stack;
  expect((await adminPost(sim, '/drain_listeners?graceful&inboundonly')).status).toBe(200);

  agent = new Agent({ keepAlive: true, maxSockets: 1 }); // without one, Node asks for Connection: close itself
  const during = await send(`${sim.listenerUrl}/`, { agent });
  expect(during.status).toBe(200);
  expect(during.headers.connection).toBe('close');
  // Draining listeners is not a failed health check.
  expect(sim.state()).toBe('LIVE');

  await waitFor('the listener to close', async () => !(await accepts(sim.listenerUrl)));
});

it('with ?graceful&skip_exit, keeps the listener open after the drain time', async () => {
  stack = await startStack({ drainTimeS: 0.02 });
  const { sim } = stack;
  expect((await adminPost(sim, '/drain_listeners?graceful&skip_exit')).status).toBe(200);
  const drained = new Promise<void>((resolve) => setTimeout(resolve, 60));
  await drained; // Waits out the drain period itself, the behaviour under test, not a race.
  expect(await accepts(sim.listenerUrl)).toBe(true);
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
  expect((await send(`${sim.listenerUrl}/`, { agent })).headers.connection).toBe('close');
});

it('?skip_exit without ?graceful, as Envoy 1.40 does (envoy#47042): drains at once and keeps accepting', async () => {
  stack = await startStack({ drainTimeS: 0.02 });
  expect(await adminPost(stack.sim, '/drain_listeners?skip_exit')).toMatchObject({ status: 200, body: 'OK\n' });
  await new Promise((resolve) => setTimeout(resolve, 60)); // Waits out the drain period itself, the behaviour under test.
  expect(await accepts(stack.sim.listenerUrl)).toBe(true);
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
  expect((await send(`${stack.sim.listenerUrl}/`, { agent })).headers.connection).toBe('close');
});

it('?skip_exit without ?graceful on the 1.29 stat set, as Envoy before 1.40: 400, and nothing changes', async () => {
  stack = await startStack({ statSet: '1.29' });
  expect(await adminPost(stack.sim, '/drain_listeners?skip_exit')).toMatchObject({
    status: 400,
    body: 'skip_exit requires graceful\n',
  });
  expect(await accepts(stack.sim.listenerUrl)).toBe(true);
});
