import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../support/moto.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';
import { runRollingDeploy } from '../support/rolling-deploy.ts';

// A rolling deploy behind a caller Envoy whose endpoints come from Cloud Map through a control plane
// polling every 2 s (test/support/rolling-deploy.ts): DRAIN_DELAY_UNTIL=replacements keeps the old
// tasks until the callers can know their replacements, a fixed delay shorter than that loses requests.
const missing = realEnvoyMissing();
if (missing) console.warn(`skipping the rolling deploy: ${missing}`);

const POLL_MS = 2_000;
// The stand-in's poll, the caller's EDS reload and its first health check of a new endpoint (250 ms), with a margin.
const PROPAGATION_S = 3;
const until = (extra: Record<string, string>) => ({
  DRAIN_DELAY_UNTIL: 'replacements',
  DISCOVERY_PROPAGATION: String(PROPAGATION_S),
  DRAIN_TIMEOUT: '1.5',
  ...extra,
});

/** The helper's "waiting for replacements" progress lines: how many are in, how many are needed, what is still open. */
const progress = (lines: Array<{ msg: string } & Record<string, unknown>>) =>
  lines
    .filter((l) => l.msg === 'waiting for replacements')
    .map(({ replacements, required, open }) => ({ replacements: replacements as number, required, open }));

let moto: Moto;
beforeAll(async () => void (moto = await startMoto()), 30_000);
afterAll(() => moto?.close());

describe.skipIf(Boolean(missing))('a rolling deploy, callers finding tasks through Cloud Map', () => {
  it('a fixed DRAIN_DELAY shorter than the control plane needs loses requests', async () => {
    const result = await runRollingDeploy({
      moto,
      helperEnv: { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '0.5' },
      pollMs: POLL_MS,
    });
    const why = result.describe();
    // When the first old task stopped taking connections (its inbound listeners closed, else its exit).
    const firstGone = Math.min(...result.stopped.map((s) => s.goneAt));

    expect(
      result.stopped.map((s) => s.exit.code),
      why,
    ).toEqual([0, 0]);
    // An old task was gone before the next poll told the caller about the replacements…
    expect(Math.min(...result.replacements.map((r) => r.learnedAt!)), why).toBeGreaterThan(firstGone);
    // …and the caller, with no endpoint it could use, sent requests there: refused, answered 503.
    expect(result.failures.length, why).toBeGreaterThan(0);
    // None before the drain: they begin when an old task goes away, DRAIN_TIMEOUT after its fail.
    expect(Math.min(...result.failures.map((f) => f.at)), why).toBeGreaterThan(
      Math.min(...result.stopped.map((s) => s.failAt!)) + 250,
    );
    expect(new Set(result.failures.map((f) => (f.kind === 'status' ? f.status : f.kind))), why).toEqual(new Set([503]));
  });

  it('DRAIN_DELAY_UNTIL=replacements: 0 failed requests, the fail once the replacements are discoverable', async () => {
    const result = await runRollingDeploy({ moto, helperEnv: until({ DRAIN_DELAY: '20' }), pollMs: POLL_MS });
    const why = result.describe();

    expect(result.failures, why).toHaveLength(0);
    expect(
      result.stopped.map((s) => s.exit.code),
      why,
    ).toEqual([0, 0]);
    for (const s of result.stopped) {
      const afterHealthy = s.failAt! - result.replacementsHealthyAt!;
      expect(afterHealthy, why).toBeGreaterThanOrEqual(PROPAGATION_S * 1000);
      expect(afterHealthy, why).toBeLessThanOrEqual(PROPAGATION_S * 1000 + 3_000);
    }
  });

  it('a replacement that comes up late: the delay waits for it, 0 failed requests', async () => {
    const lateMs = 5_000;
    const result = await runRollingDeploy({
      moto,
      helperEnv: until({ DRAIN_DELAY: '30' }),
      replacementsAfterMs: [0, lateMs],
      pollMs: POLL_MS,
    });
    const why = result.describe();

    expect(result.failures, why).toHaveLength(0);
    expect(result.replacementsHealthyAt! - result.sigtermAt, why).toBeGreaterThanOrEqual(lateMs);
    for (const s of result.stopped) {
      // While the late one is missing, the progress lines say so.
      expect(progress(s.helper.lines), why).toContainEqual({ replacements: 1, required: 2, open: 'replacements' });
      const afterHealthy = s.failAt! - result.replacementsHealthyAt!;
      expect(afterHealthy, why).toBeGreaterThanOrEqual(PROPAGATION_S * 1000);
      expect(afterHealthy, why).toBeLessThanOrEqual(PROPAGATION_S * 1000 + 3_000);
    }
  });

  it('no replacement comes up: the delay runs to DRAIN_DELAY, the other old task keeps serving', async () => {
    const result = await runRollingDeploy({
      moto,
      helperEnv: until({ DRAIN_DELAY: '6' }),
      replacementsAfterMs: [],
      stopping: 1,
      pollMs: POLL_MS,
    });
    const why = result.describe();
    const [stopped] = result.stopped;

    expect(result.failures, why).toHaveLength(0);
    expect(stopped!.exit.code, why).toBe(0);
    expect(stopped!.failAt! - result.sigtermAt, why).toBeGreaterThanOrEqual(6_000);
    expect(stopped!.failAt! - result.sigtermAt, why).toBeLessThan(6_000 + 1_000);
    // The other old task is the old deployment's: it never counts as a replacement.
    expect(progress(stopped!.helper.lines), why).toContainEqual({ replacements: 0, required: 2, open: 'replacements' });
    expect(
      progress(stopped!.helper.lines).filter((p) => p.replacements > 0),
      why,
    ).toEqual([]);
  });
});
