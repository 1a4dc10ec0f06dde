import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through HTTP proxy in front of moto that records every AWS call sent through it: the
 * helper's AWS_ENDPOINT_URL in the deploy rig, so each stopped task's calls are counted by what
 * really went over the wire (SDK retries included). The API is the JSON protocols'
 * `X-Amz-Target` operation (ECS, Cloud Map) or the query protocols' `Action` (ELB, EC2).
 */
export interface AwsCallCounter {
  /** AWS_ENDPOINT_URL for the client whose calls are counted. */
  readonly url: string;
  /** Every call so far, in order. */
  readonly calls: ReadonlyArray<{ at: number; api: string; status: number }>;
  close(): Promise<void>;
}

export async function startAwsCallCounter(upstream: string): Promise<AwsCallCounter> {
  const target = new URL(upstream);
  const calls: Array<{ at: number; api: string; status: number }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = req.headers['x-amz-target'];
      const api =
        typeof amzTarget === 'string'
          ? amzTarget.split('.').at(-1)!
          : (new URLSearchParams(body.toString()).get('Action') ?? `${req.method} ${req.url}`);
      const forward = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          calls.push({ at: Date.now(), api, status: answer.statusCode ?? 0 });
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.once('error', (error) => {
        calls.push({ at: Date.now(), api, status: 0 });
        res.destroy(error);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
