import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startEnvoySim, type EnvoySim } from '../src/index.ts';
import { send } from '../../../test/support/sim-stack.ts';

let sim: EnvoySim | undefined;
let upstream: Server | undefined;
afterEach(async () => {
  await sim?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
  upstream = undefined;
});

/** An upstream that echoes what it received, to check what the sim forwards. */
async function startEcho(): Promise<string> {
  upstream = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-from-app': 'yes', server: 'node' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

it('forwards method, path, headers and body, and relays the upstream response', async () => {
  sim = await startEnvoySim({ upstream: await startEcho() });
  const reply = await send(`${sim.listenerUrl}/orders?id=7`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'x-caller': 'test' },
    body: 'one order',
  });
  expect(reply.status).toBe(201);
  expect(reply.headers['x-from-app']).toBe('yes');
  expect(reply.headers.server).toBe('envoy');
  expect(reply.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
  const seen = JSON.parse(reply.body);
  expect(seen).toMatchObject({ method: 'POST', url: '/orders?id=7', body: 'one order' });
  expect(seen.headers).toMatchObject({ 'x-caller': 'test', 'x-forwarded-proto': 'http' });
  expect(seen.headers['x-request-id']).toBeTruthy();
});

it('keeps client connections alive across requests', async () => {
  sim = await startEnvoySim({ upstream: await startEcho() });
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await send(`${sim.listenerUrl}/1`, { agent });
    const second = await send(`${sim.listenerUrl}/2`, { agent });
    expect(second.reusedSocket).toBe(true);
  } finally {
    agent.destroy();
  }
});

it("answers 503 with Envoy's connect-failure body when the upstream is unreachable", async () => {
  const closedPort = await startEcho().then(async (url) => {
    upstream!.close();
    upstream = undefined;
    return url;
  });
  sim = await startEnvoySim({ upstream: closedPort });
  const reply = await send(`${sim.listenerUrl}/`);
  expect(reply.status).toBe(503);
  expect(reply.body).toBe(
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  );
});

it('answers 503 no healthy upstream when started without an upstream', async () => {
  sim = await startEnvoySim({});
  expect(await send(`${sim.listenerUrl}/`)).toMatchObject({ status: 503, body: 'no healthy upstream' });
});
