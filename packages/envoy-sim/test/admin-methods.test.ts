import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvoySim, type EnvoySim } from '../src/index.ts';
import { send } from '../../../test/support/sim-stack.ts';

const MUTATING = [
  '/healthcheck/fail',
  '/healthcheck/ok',
  '/drain_listeners',
  '/quitquitquit',
  '/reset_counters',
  '/logging',
];

describe('state-changing admin endpoints', () => {
  let sim: EnvoySim;
  beforeAll(async () => {
    sim = await startEnvoySim({});
  });
  afterAll(() => sim.close());

  it.each(MUTATING)('%s refuses GET with 405 and does nothing', async (path) => {
    const reply = await send(`${sim.adminUrl}${path}`);
    expect(reply.status).toBe(405);
    expect(reply.body).toBe('Method GET not allowed, POST required.');
    expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    expect(sim.state()).toBe('LIVE');
  });

  it('names the method that was refused', async () => {
    const reply = await send(`${sim.adminUrl}/healthcheck/fail`, { method: 'PUT' });
    expect(reply.status).toBe(405);
    expect(reply.body).toBe('Method PUT not allowed, POST required.');
    expect(sim.healthCheckFailed()).toBe(false);
  });

  it.each(['/healthcheck/fail', '/healthcheck/ok', '/reset_counters'])('%s answers POST with 200 OK', async (path) => {
    const reply = await send(`${sim.adminUrl}${path}`, { method: 'POST' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('OK\n');
    expect(reply.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('answers an unknown path with 404 and the list of admin commands', async () => {
    const reply = await send(`${sim.adminUrl}/no_such_thing`);
    expect(reply.status).toBe(404);
    expect(reply.body).toMatch(/^invalid path\. admin commands are:\n/);
    expect(reply.body).toContain('  /healthcheck/fail (POST): ');
    expect(reply.body).toContain('  /quitquitquit (POST): ');
  });
});
