import { afterEach, expect, it } from 'vitest';
import { startToyApp, type ToyApp } from '../src/index.ts';
import { send } from '../../../test/support/sim-stack.ts';

let app: ToyApp | undefined;
afterEach(() => app?.close());

it('answers its health path, /slow after the delay, and everything else, counting requests', async () => {
  app = await startToyApp({ healthPath: '/healthz' });
  expect(await send(`${app.url}/healthz`)).toMatchObject({ status: 200, body: 'pong' });
  expect(await send(`${app.url}/anything`, { method: 'POST' })).toMatchObject({
    status: 200,
    body: 'hello from the app',
  });

  const started = Date.now();
  expect(await send(`${app.url}/slow?ms=40`)).toMatchObject({ status: 200, body: 'slept 40 ms' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  expect(app.requests).toBe(3);
  expect(new URL(app.url).port).toBe(String(app.port));
});
