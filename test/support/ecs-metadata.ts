import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/ecs-metadata');
const read = (name: string) => JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as Record<string, unknown>;

export interface MetadataServer {
  /** The value ECS gives ECS_CONTAINER_METADATA_URI_V4. */
  readonly uri: string;
  readonly task: Record<string, unknown>;
  readonly container: Record<string, unknown>;
  /** Paths asked for, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * The ECS task metadata endpoint (v4) on loopback, answering with AWS's documented example
 * (test/fixtures/ecs-metadata), `task` fields replaced as given. Not an AWS API: a link-local
 * JSON document the agent serves.
 */
export async function startMetadataServer(task: Record<string, unknown> = {}): Promise<MetadataServer> {
  const taskJson = { ...read('task.json'), ...task };
  const containerJson = read('container.json');
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const body =
      request.url === '/v4/cd189a93/task' ? taskJson : request.url === '/v4/cd189a93' ? containerJson : undefined;
    response
      .writeHead(body ? 200 : 404, { 'content-type': 'application/json' })
      .end(JSON.stringify(body ?? { error: 'not found' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/v4/cd189a93`,
    task: taskJson,
    container: containerJson,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function once(server: ReturnType<typeof createServer>, event: string): Promise<void> {
  await new Promise((resolve) => server.once(event, resolve));
}
