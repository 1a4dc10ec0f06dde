import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, definePlugin, type Plugin } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import notify, { type NotifyOptions } from './plugins/notify.ts';

interface Received {
  method: string | undefined;
  url: string | undefined;
  contentType: string | undefined;
  body: string;
}

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(() => {
  vi.useRealTimers();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A real HTTP server on loopback that records each request and answers with `answer` (or never, if it returns false). */
async function listen(
  answer: (req: IncomingMessage, res: ServerResponse) => undefined | false = (_, res) => void res.end(),
) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => void (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], body });
      answer(req, res);
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A plugin that records whether its afterDrain tap ran, and can skip the drain like the app check does. */
function witness({ skip = false } = {}) {
  const ran: string[] = [];
  const plugin: Plugin = definePlugin({
    name: 'witness',
    apply(hooks) {
      hooks.beforeDrain.tapPromise({}, async () => (skip ? { skip: 'told to' } : undefined));
      // A later stage than notify's, so it runs after notify has failed.
      hooks.afterDrain.tapPromise({ stage: 10 }, async () => void ran.push('afterDrain'));
    },
  })();
  return { plugin, ran };
}

function setup(options: NotifyOptions, { env = {}, skip = false }: { env?: NodeJS.ProcessEnv; skip?: boolean } = {}) {
  const other = witness({ skip });
  const { runner, logged } = createTestRunner({ plugins: [other.plugin, notify(options)], env });
  const stepOf = (hook: string) => runner.steps.find((s) => s.plugin === 'notify' && s.hook === hook);
  return { runner, logged, stepOf, ran: other.ran };
}

describe('notify plugin', () => {
  it('POSTs one JSON notice in afterDrain, with the task ARN from the ECS metadata endpoint', async () => {
    const webhook = await listen();
    const TaskARN = 'arn:aws:ecs:eu-west-1:123456789012:task/orders/0123456789abcdef';
    const metadata = await listen((_, res) => void res.end(JSON.stringify({ TaskARN, Cluster: 'orders' })));
    const { runner, logged, stepOf } = setup(
      { url: `${webhook.url}/drained` },
      { env: { ECS_CONTAINER_METADATA_URI_V4: `${metadata.url}/v4/abc` } },
    );

    expect(await runner.stop('SIGTERM')).toBe(0);

    expect(metadata.received.map((r) => r.url)).toEqual(['/v4/abc/task']);
    expect(webhook.received).toHaveLength(1);
    const [request] = webhook.received;
    expect(request).toMatchObject({ method: 'POST', url: '/drained', contentType: 'application/json' });
    expect(JSON.parse(request!.body)).toEqual({
      task: TaskARN,
      signal: 'SIGTERM',
      outcome: 'drained',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(stepOf('afterDrain')).toMatchObject({ outcome: 'ok' });
    expect(logged('drain notice sent')).toMatchObject([
      { hook: 'afterDrain', plugin: 'notify', status: 200, task: TaskARN },
    ]);
  });

  it('leaves the task out outside ECS, and says when the drain was skipped', async () => {
    const webhook = await listen();
    const { runner } = setup({ url: webhook.url }, { skip: true });
    expect(await runner.stop('SIGINT')).toBe(0);
    expect(JSON.parse(webhook.received[0]!.body)).toEqual({
      signal: 'SIGINT',
      outcome: 'skipped',
      at: expect.any(String),
    });
  });

  it('sends the notice without the task ARN when the metadata endpoint fails', async () => {
    const webhook = await listen();
    const metadata = await listen((_, res) => void res.writeHead(500).end());
    const { runner, logged } = setup({ url: webhook.url }, { env: { ECS_CONTAINER_METADATA_URI_V4: metadata.url } });
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(JSON.parse(webhook.received[0]!.body)).not.toHaveProperty('task');
    expect(logged('task metadata unreadable: sending the notice without the task ARN')).toMatchObject([
      { reason: 'HTTP 500' },
    ]);
  });

  it.each([
    [{}, {}, 'plugin "notify": the url option (or NOTIFY_URL) is required'],
    [
      { url: 'ftp://hooks.example.com' },
      {},
      'plugin "notify": url="ftp://hooks.example.com" is invalid: expected an http:// or https:// URL',
    ],
    [{ url: 'https://hooks.example.com', retries: 3 }, {}, 'unknown option "retries"; known options: url, timeout'],
    [
      { url: 'https://hooks.example.com', timeout: 0 },
      {},
      'plugin "notify": timeout=0 is invalid: expected a number of seconds > 0',
    ],
    [{ url: 'https://hooks.example.com' }, { NOTIFY_TIMEOUT: '3s' }, 'plugin "notify": NOTIFY_TIMEOUT="3s" is invalid'],
  ])('rejects options %j with env %j at setup, naming the culprit', (options, env, message) => {
    const create = () => setup(options as NotifyOptions, { env });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(message);
  });

  it('fails its step when the webhook server is down, and the other afterDrain taps still run', async () => {
    const down = await listen();
    down.server.close();
    await once(down.server, 'close');
    const { runner, logged, stepOf, ran } = setup({ url: `${down.url}/drained` });

    expect(await runner.stop('SIGTERM')).toBe(1);

    expect(stepOf('afterDrain')).toMatchObject({
      outcome: 'failed',
      error: `POST ${down.url}/drained failed: ECONNREFUSED`,
    });
    expect(logged('step failed')).toMatchObject([{ plugin: 'notify', hook: 'afterDrain' }]);
    expect(ran).toEqual(['afterDrain']);
  });

  it('fails its step on an HTTP error status', async () => {
    const webhook = await listen((_, res) => void res.writeHead(503).end('busy'));
    const { runner, stepOf } = setup({ url: webhook.url });
    expect(await runner.stop('SIGTERM')).toBe(1);
    expect(stepOf('afterDrain')).toMatchObject({ outcome: 'failed', error: `POST ${webhook.url} answered HTTP 503` });
  });

  it('gives up on a webhook that never answers at its timeout, and the drain still finishes', async () => {
    // Only timers and Date are faked: the HTTP request and the server stay real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const silent = await listen(() => false);
    const { runner, stepOf, ran } = setup({ url: silent.url, timeout: 2 });

    const arrived = once(silent.server, 'request');
    const stopped = runner.stop('SIGTERM');
    await arrived;
    await vi.advanceTimersByTimeAsync(1_999);
    expect(stepOf('afterDrain')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);

    expect(await stopped).toBe(1);
    expect(stepOf('afterDrain')).toMatchObject({
      outcome: 'timeout',
      ms: 2_000,
      error: 'did not finish within its 2000 ms timeout',
    });
    expect(ran).toEqual(['afterDrain']);
  });
});
