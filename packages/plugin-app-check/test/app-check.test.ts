import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestRunner } from '@task-helper/core/testing';
import appCheck from '@task-helper/plugin-app-check';
import { freePort } from '../../../test/support/free-port.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function listening(): Promise<number> {
  server = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server!.once('listening', resolve));
  return (server.address() as { port: number }).port;
}

describe('the app check at the stop signal', () => {
  it('skips the drain when nothing listens on the app port', async () => {
    const { runner, logged } = createTestRunner({ plugins: [appCheck({ port: await freePort() })] });
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(logged('drain skipped')[0]?.reason).toMatch(
      /^app not reachable: nothing listening on 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/,
    );
  });

  it('drains an app that accepts the connection, whatever it answers', async () => {
    const { runner, logged } = createTestRunner({ plugins: [appCheck({ port: await listening() })] });
    expect(await runner.stop('SIGTERM')).toBe(0);
    expect(logged('app is up')).toHaveLength(1);
    expect(logged('drain skipped')).toEqual([]);
  });

  it('taps nothing when APP_CHECK=false', () => {
    const { runner } = createTestRunner({ plugins: [appCheck()], env: { APP_CHECK: 'false' } });
    expect(runner.hooks.beforeDrain.taps).toEqual([]);
  });
});
