import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxy {
  readonly url: string;
  /** The `X-Amz-Target` (JSON APIs) or `Action` (query APIs) of every request, answered or forwarded. */
  readonly actions: string[];
  close(): Promise<void>;
}

/**
 * Forwards every request to moto, except the named actions, which it answers as AWS answers a
 * throttled call (HTTP 400, `ThrottlingException`). moto has no way to throttle; everything else
 * here is moto's own answer.
 */
export async function startThrottlingProxy(motoUrl: string, throttle: string[]): Promise<FaultProxy> {
  const actions: string[] = [];
  const upstream = new URL(motoUrl);
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .at(-1) ||
      (/(?:^|&)Action=(\w+)/.exec(body.toString())?.[1] ?? '');
    actions.push(target);
    if (throttle.includes(target)) {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ThrottlingException' });
      res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    forward.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    actions,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
