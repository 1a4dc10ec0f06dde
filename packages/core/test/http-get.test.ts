import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { httpGet, parseResponse } from '../src/http-get.ts';
import { startEnvoySim } from '@task-helper/envoy-sim';

describe('httpGet: the one-request client for /ready', () => {
  it("reads a length-delimited answer, such as the simulator's", async () => {
    const envoy = await startEnvoySim({ initializingMs: 60_000 });
    try {
      expect(await httpGet(`${envoy.adminUrl}/ready`, new AbortController().signal, 1_000)).toEqual({
        status: 503,
        body: 'INITIALIZING\n',
      });
    } finally {
      await envoy.close();
    }
  });

  it("reads a chunked answer, as Envoy's admin may send it", () => {
    const raw = Buffer.from(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ncontent-type: text/plain\r\n\r\n3\r\nLIV\r\n2\r\nE\n\r\n0\r\n\r\n',
    );
    expect(parseResponse(raw)).toEqual({ status: 200, body: 'LIVE\n' });
  });

  it('rejects what is not HTTP', () => {
    expect(() => parseResponse(Buffer.from('SSH-2.0-OpenSSH\r\n'))).toThrow('malformed HTTP response');
    expect(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'))).toThrow(
      'malformed chunked HTTP body',
    );
  });

  it('sends a well-formed HTTP/1.1 request with Host and Connection: close', async () => {
    const server = createServer((socket) => {
      socket.once('data', (request) => {
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${request.length}\r\n\r\n${request.toString()}`);
      });
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const { body } = await httpGet(`http://127.0.0.1:${port}/ready?x=1`, new AbortController().signal, 1_000);
      expect(body).toBe(`GET /ready?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    } finally {
      server.close();
    }
  });

  it('an answer whose body never ends is judged on what arrived by the timeout, not failed', async () => {
    const envoy = await startEnvoySim({ adminFaults: { '/ready': { status: 200, body: 'LIVE\n', stream: 'stall' } } });
    try {
      expect(await httpGet(`${envoy.adminUrl}/ready`, new AbortController().signal, 300)).toEqual({
        status: 200,
        body: 'LIVE\n',
      });
    } finally {
      await envoy.close();
    }
  });

  it('an endless body is read up to 8 KB, then the connection is closed', async () => {
    const envoy = await startEnvoySim({ adminFaults: { '/ready': { status: 503, body: 'x', stream: 'flood' } } });
    try {
      const { status, body } = await httpGet(`${envoy.adminUrl}/ready`, new AbortController().signal, 5_000);
      expect(status).toBe(503);
      expect(body.length).toBeLessThanOrEqual(8 * 1024);
    } finally {
      await envoy.close();
    }
  });

  it('headers that never end are still a timeout', async () => {
    const server = createServer((socket) => void socket.write('HTTP/1.1 200 OK\r\nx-slow: 1\r\n')).listen(
      0,
      '127.0.0.1',
    );
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      await expect(httpGet(`http://127.0.0.1:${port}/ready`, new AbortController().signal, 200)).rejects.toMatchObject({
        code: 'TIMEOUT',
      });
    } finally {
      server.close();
    }
  });
});
