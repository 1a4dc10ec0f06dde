import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Stage, type HookContext, type Plugin } from '@task-helper/core';
import { createTestRunner, recordingLogger } from '@task-helper/core/testing';
import { startEnvoySim, type AdminFault, type EnvoySim } from '@task-helper/envoy-sim';
import envoy from '@task-helper/plugin-envoy';
import { createAdminClient, type AdminClient } from '../src/admin-client.ts';
import { closeInboundDefaults, closeInboundListeners } from '../src/close-inbound.ts';

const CLOSED = 'envoy inbound listeners closed: new connections refused';
const LEFT_OPEN =
  'envoy inbound listeners left open: callers without active health checks may get 503s once the app stops (ENVOY_CLOSE_INBOUND=false skips the call)';

describe('closeInboundListeners', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  const context = (deadline = Number.POSITIVE_INFINITY) => {
    const { logger, lines } = recordingLogger();
    const ctx = { logger, abortSignal: new AbortController().signal, deadline } as unknown as HookContext;
    return { ctx, lines };
  };
  const adminPosting = (post: AdminClient['post']): AdminClient => ({
    post,
    get: () => Promise.reject(new Error('not used')),
    probe: () => Promise.reject(new Error('not used')),
    warm: () => undefined,
  });

  it('POSTs /drain_listeners?inboundonly within its own second, and says so in one line', async () => {
    const { ctx, lines } = context();
    const post = vi.fn(async () => void (await new Promise((resolve) => setTimeout(resolve, 30))));
    const done = closeInboundListeners(adminPosting(post), ctx);
    await vi.advanceTimersByTimeAsync(30);
    await done;
    expect(post).toHaveBeenCalledWith(
      '/drain_listeners?inboundonly',
      expect.objectContaining({ deadline: Date.now() - 30 + 1_000 }),
    );
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: CLOSED, path: closeInboundDefaults.path, ms: 30 }),
    ]);
  });

  it('keeps to a nearer deadline: the stop budget beats its second', async () => {
    const { ctx } = context(Date.now() + 200);
    const post = vi.fn<AdminClient['post']>(async () => undefined);
    await closeInboundListeners(adminPosting(post), ctx);
    expect(post).toHaveBeenCalledWith(
      '/drain_listeners?inboundonly',
      expect.objectContaining({ deadline: Date.now() + 200 }),
    );
  });

  it('a failed call (404 from an Envoy without /drain_listeners) is one warning and resolves', async () => {
    const { ctx, lines } = context();
    const error = new Error('POST http://127.0.0.1:9901/drain_listeners?inboundonly failed: HTTP 404 "invalid path"');
    await expect(
      closeInboundListeners(
        adminPosting(() => Promise.reject(error)),
        ctx,
      ),
    ).resolves.toBeUndefined();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: LEFT_OPEN,
        path: closeInboundDefaults.path,
        error: error.message,
        ms: 0,
      }),
    ]);
  });

  describe('with the real admin client', () => {
    let server: Server | undefined;
    const sockets = new Set<Socket>();
    afterEach(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server?.close(resolve));
    });

    it('an admin API that accepts and never answers: one warning after 1 s, not a second more', async () => {
      server = createServer((socket) => void sockets.add(socket));
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      const { ctx, lines } = context();
      let settled = false;
      const done = closeInboundListeners(createAdminClient(`http://127.0.0.1:${port}`), ctx).then(() => {
        settled = true;
      });
      await vi.advanceTimersByTimeAsync(999);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(lines).toEqual([
        expect.objectContaining({
          level: 'warn',
          msg: LEFT_OPEN,
          ms: 1_000,
          error: `POST http://127.0.0.1:${port}/drain_listeners?inboundonly failed: no answer in time`,
        }),
      ]);
    });
  });
});

describe('ENVOY_CLOSE_INBOUND, in a whole stop on the Envoy simulator', () => {
  let sim: EnvoySim | undefined;
  afterEach(() => sim?.close());

  async function stop(env: Record<string, string>, adminFaults: Record<string, AdminFault> = {}, extra: Plugin[] = []) {
    sim = await startEnvoySim({ adminFaults });
    const { runner, lines, logged } = createTestRunner({
      plugins: [envoy(), ...extra],
      env: { ENVOY_ADMIN_URL: sim.adminUrl, ENVOY_WAIT_READY: 'false', ...env },
    });
    await runner.start();
    const code = await runner.stop('SIGTERM');
    const calls = sim.calls.map((c) => `${c.method} ${c.path}${c.query ? `?${c.query}` : ''} ${c.status}`);
    return { code, calls, lines, logged, steps: runner.steps };
  }

  it('by default: after /healthcheck/fail, in afterDrain, the inbound listeners close; the line carries phase, plugin and ms', async () => {
    const { code, calls, logged, steps } = await stop({});
    expect(code).toBe(0);
    expect(calls).toEqual(['POST /healthcheck/fail 200', 'POST /drain_listeners?inboundonly 200']);
    expect(logged(CLOSED)).toEqual([
      expect.objectContaining({
        level: 'info',
        phase: 'stop',
        plugin: 'envoy',
        hook: 'afterDrain',
        path: '/drain_listeners?inboundonly',
        ms: expect.any(Number),
      }),
    ]);
    expect(steps.filter((s) => s.hook === 'afterDrain')).toEqual([
      expect.objectContaining({ plugin: 'envoy', outcome: 'ok' }),
    ]);
  });

  it('before /quitquitquit with ENVOY_QUIT=true', async () => {
    const { calls } = await stop({ ENVOY_QUIT: 'true' });
    expect(calls).toEqual([
      'POST /healthcheck/fail 200',
      'POST /drain_listeners?inboundonly 200',
      'POST /quitquitquit 200',
    ]);
  });

  it('not after a skipped drain (a task that never served): no POST at all', async () => {
    const skip: Plugin = {
      name: 'skip',
      apply: (hooks) =>
        hooks.beforeDrain.tapPromise({ name: 'skip', stage: Stage.BEFORE_DRAIN_DECIDE }, async () => ({
          skip: 'test',
        })),
    };
    const { code, calls } = await stop({}, {}, [skip]);
    expect(code).toBe(0);
    expect(calls).toEqual([]);
  });

  it('ENVOY_CLOSE_INBOUND=false: no call', async () => {
    const { code, calls, lines } = await stop({ ENVOY_CLOSE_INBOUND: 'false' });
    expect(code).toBe(0);
    expect(calls).toEqual(['POST /healthcheck/fail 200']);
    expect(lines.some((l) => String(l.msg).startsWith('envoy inbound listeners'))).toBe(false);
  });

  it('an Envoy answering 404: one warning, the stop still exits 0, the fail still went out', async () => {
    const { code, calls, lines } = await stop(
      {},
      { '/drain_listeners': { status: 404, body: 'invalid path: /drain_listeners\n' } },
    );
    expect(code).toBe(0);
    expect(calls).toEqual(['POST /healthcheck/fail 200', 'POST /drain_listeners?inboundonly 404']);
    const warnings = lines.filter((l) => l.level === 'warn' || l.level === 'error');
    expect(warnings).toEqual([
      expect.objectContaining({ msg: LEFT_OPEN, phase: 'stop', plugin: 'envoy', ms: expect.any(Number) }),
    ]);
    expect(warnings[0]!.error).toMatch(/failed: HTTP 404 "invalid path: \/drain_listeners"$/);
  });

  it('refuses a value that is not a boolean, naming the setting', () => {
    expect(() => createTestRunner({ plugins: [envoy()], env: { ENVOY_CLOSE_INBOUND: 'sometimes' } })).toThrow(
      /ENVOY_CLOSE_INBOUND="sometimes" is invalid/,
    );
  });
});
