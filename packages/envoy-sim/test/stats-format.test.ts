import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminGet, adminPost, send, startStack, type Stack } from '../../../test/support/sim-stack.ts';

describe('/stats formats', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
    await send(`${stack.sim.listenerUrl}/`);
    await adminPost(stack.sim, '/healthcheck/fail');
  });
  afterAll(() => stack.close());

  it('renders text as `name: value` lines sorted by name', async () => {
    const reply = await adminGet(stack.sim, '/stats');
    expect(reply.status).toBe(200);
    const lines = reply.body.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^[\w.]+: -?\d+$/);
    const names = lines.map((l) => l.split(': ')[0]!);
    expect(names).toEqual([...names].sort());
    expect(lines).toContain('http.ingress.downstream_rq_total: 1');
    expect(lines).toContain('server.state: 1');
    expect(lines).toContain('http.ingress.downstream_rq_1xx: 0');
  });

  it('renders JSON as a stats array of name/value pairs, without a histograms element (the sim has none)', async () => {
    const reply = await adminGet(stack.sim, '/stats?format=json');
    expect(reply.headers['content-type']).toBe('application/json');
    const { stats } = JSON.parse(reply.body) as { stats: Array<Record<string, unknown>> };
    expect(stats).toContainEqual({ name: 'http.ingress.downstream_rq_total', value: 1 });
    expect(stats.every((s) => Object.keys(s).join() === 'name,value')).toBe(true);
    const text = (await adminGet(stack.sim, '/stats')).body;
    expect(stats.length).toBe(text.trimEnd().split('\n').length);
  });

  it('keeps only names matching ?filter', async () => {
    const reply = await adminGet(stack.sim, '/stats?filter=downstream_rq_(total|active)$');
    const names = reply.body
      .trimEnd()
      .split('\n')
      .map((l) => l.split(': ')[0]);
    expect(names).toEqual([
      'http.admin.downstream_rq_active',
      'http.admin.downstream_rq_total',
      'http.ingress.downstream_rq_active',
      'http.ingress.downstream_rq_total',
    ]);
  });

  it('leaves out never-written stats with ?usedonly', async () => {
    const all = (await adminGet(stack.sim, '/stats')).body;
    const used = (await adminGet(stack.sim, '/stats?usedonly')).body;
    expect(all).toContain('http.ingress.downstream_rq_4xx: 0');
    expect(used).not.toContain('http.ingress.downstream_rq_4xx');
    // Written, then back to 0: still "used", as in Envoy.
    expect(used).toContain('http.ingress.downstream_rq_active: 0');
    expect(used).toContain('http.ingress.downstream_rq_2xx: 1');
  });

  it('combines ?format=json, ?filter and ?usedonly', async () => {
    const reply = await adminGet(
      stack.sim,
      '/stats?format=json&usedonly&filter=^http\\.ingress\\.downstream_rq_[0-9]xx$',
    );
    const { stats } = JSON.parse(reply.body) as { stats: Array<{ name?: string }> };
    expect(stats.filter((s) => s.name).map((s) => s.name)).toEqual(['http.ingress.downstream_rq_2xx']);
  });

  it('refuses an invalid filter regex with 400', async () => {
    expect((await adminGet(stack.sim, '/stats?filter=(')).status).toBe(400);
  });
});
