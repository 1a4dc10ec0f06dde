import { once } from 'node:events';
import { expect, it } from 'vitest';
import { startEnvoySim } from '../src/index.ts';
import { adminPost, send } from '../../../test/support/sim-stack.ts';

it('answers /quitquitquit with OK, then closes and emits quit', async () => {
  const sim = await startEnvoySim({});
  const quit = once(sim, 'quit');

  expect(await adminPost(sim, '/quitquitquit')).toMatchObject({ status: 200, body: 'OK\n' });
  await quit;
  await expect(send(`${sim.adminUrl}/ready`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await expect(send(`${sim.listenerUrl}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await sim.close(); // Closing again is harmless.
});
