import { afterEach, describe, expect, it } from 'vitest';
import { recordingLogger } from '@task-helper/core/testing';
import { startEnvoySim, type AdminFault, type EnvoySim } from '@task-helper/envoy-sim';
import { adminRequestDefaults, createAdminClient } from '../src/admin-client.ts';

let sim: EnvoySim | undefined;
afterEach(() => sim?.close());

/** A request as a tap makes it, due `ms` from now (far enough that only a bug waits for it). */
const request = (ms = 15_000) => ({
  ...recordingLogger('warn'),
  abortSignal: new AbortController().signal,
  deadline: Date.now() + ms,
});

async function clientFor(adminFaults: Record<string, AdminFault>) {
  sim = await startEnvoySim({ adminFaults });
  return createAdminClient(sim.adminUrl);
}

describe('the admin client is bounded in time and memory', () => {
  it('a POST is judged by its status line: a 200 whose body never ends is a success, at once', async () => {
    const admin = await clientFor({ '/healthcheck/fail': { status: 200, body: 'OK\n', stream: 'stall' } });
    await expect(admin.post('/healthcheck/fail', request())).resolves.toBeUndefined();
    expect(sim!.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /healthcheck/fail']);
  });

  it('a POST answered 200 with an endless body: a success, the body not read', async () => {
    const admin = await clientFor({ '/healthcheck/fail': { status: 200, body: 'OK\n', stream: 'flood' } });
    await expect(admin.post('/healthcheck/fail', request())).resolves.toBeUndefined();
  });

  it("a 5xx with an endless body: each attempt judged by its status, the error shows the body's start only", async () => {
    const admin = await clientFor({ '/healthcheck/fail': { status: 503, body: 'overloaded ', stream: 'flood' } });
    const error = await admin.post('/healthcheck/fail', request(1_500)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/healthcheck\/fail failed: HTTP 503 "(overloaded ){18}ov…" \(\d+ attempts in \d+ ms\)$/,
    );
    expect(sim!.calls.length).toBeGreaterThan(1);
  });

  it('retries until the deadline, not a fixed count: an Envoy failing its first four answers (one past the old three retries) still takes the POST', async () => {
    const adminFaults: Record<string, AdminFault> = { '/healthcheck/fail': { status: 503, body: 'restarting' } };
    const admin = await clientFor(adminFaults);
    sim!.on('admin', () => {
      if (sim!.calls.length >= 4) delete adminFaults['/healthcheck/fail'];
    });
    const { lines, ...req } = request();
    await admin.post('/healthcheck/fail', req);
    expect(sim!.calls.map((c) => c.status)).toEqual([503, 503, 503, 503, 200]);
    expect(sim!.healthCheckFailed()).toBe(true);
    expect(lines.filter((l) => l.msg === 'envoy admin request retry').map((l) => l.retry)).toEqual([1, 2, 3, 4]);
  });

  it('the deadline ends the retries, and the error says what kept failing', async () => {
    const admin = await clientFor({});
    const url = sim!.adminUrl;
    await sim!.close();
    const error = (await admin.post('/healthcheck/fail', request(1_000)).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(
      new RegExp(`^POST ${url}/healthcheck/fail failed: ECONNREFUSED \\(\\d+ attempts in \\d+ ms\\)$`),
    );
    expect(Number(/\((\d+) attempts/.exec(error.message)![1])).toBeGreaterThan(1);
  });

  it('a GET of an endless body fails once it passes the cap, instead of reading on', async () => {
    const admin = await clientFor({ '/stats': { status: 200, body: '{"name":"x","value":1},', stream: 'flood' } });
    await expect(admin.get('/stats?format=json', request())).rejects.toThrow(
      `GET ${sim!.adminUrl}/stats?format=json failed: the answer was longer than ${adminRequestDefaults.maxGetBodyBytes} bytes`,
    );
  });

  it('a GET whose body stalls fails after bodyTimeoutMs, instead of waiting for the deadline', async () => {
    const admin = await clientFor({ '/stats': { status: 200, body: '{"stats":[', stream: 'stall' } });
    await expect(admin.get('/stats?format=json', request(60_000))).rejects.toThrow(
      `failed: the answer was not over ${adminRequestDefaults.bodyTimeoutMs} ms after its status line`,
    );
  });

  it('a GET reads a whole ordinary answer', async () => {
    const admin = await clientFor({});
    const body = await admin.get('/stats?format=json&filter=downstream_rq_active', request());
    expect(JSON.parse(body)).toHaveProperty('stats');
  });
});
