import { errorText, type HookContext } from '@task-helper/core';
import type { AdminClient } from './admin-client.ts';

const readinessDefaults = Object.freeze({ pollMs: 250, progressMs: 5_000 });

const STATE = /^[A-Z_]{1,32}$/;

/**
 * Envoy's state as `/ready` reports it: `LIVE` with 200, else 503 and the state's name. The status
 * decides; the body only names the state, and only when it looks like one (any other body, a
 * proxy's error page say, is not echoed).
 */
async function readState(admin: AdminClient, ctx: HookContext): Promise<string> {
  const { status, body } = await admin.probe('/ready', ctx);
  const state = body.trim();
  if (status === 200 && state === 'LIVE') return 'LIVE';
  return status === 503 && STATE.test(state) && state !== 'LIVE' ? state : `HTTP ${status}`;
}

/** onStart: waits until Envoy is LIVE (bounded by START_TIMEOUT through the abortSignal), logging progress. */
export async function waitUntilLive(admin: AdminClient, ctx: HookContext): Promise<void> {
  const started = Date.now();
  let state = 'unknown';
  let loggedAt = 0;
  while (!ctx.abortSignal.aborted) {
    try {
      state = await readState(admin, ctx);
    } catch (error) {
      state = errorText(error);
    }
    if (state === 'LIVE') {
      ctx.logger.info({ ms: Date.now() - started }, 'envoy is live');
      return;
    }
    if (Date.now() - loggedAt >= readinessDefaults.progressMs) {
      loggedAt = Date.now();
      ctx.logger.info({ state, waitedMs: loggedAt - started }, 'waiting for envoy to be live');
    }
    await ctx.sleep(readinessDefaults.pollMs);
  }
  throw new Error(
    `envoy was not live after ${Date.now() - started} ms (last: ${state}); carrying on, the drain will still run`,
  );
}

/**
 * States of a live Envoy: after `/healthcheck/fail` it answers DRAINING while it keeps serving. A
 * check that failed then would mark every draining task's essential container UNHEALTHY, which ECS
 * counts against the task (a service replaces unhealthy tasks).
 */
const ALIVE = new Set(['LIVE', 'DRAINING']);

/** `task-helper health`: throws unless Envoy answers LIVE or DRAINING now. */
export async function assertLive(admin: AdminClient, ctx: HookContext): Promise<void> {
  const state = await readState(admin, ctx);
  if (!ALIVE.has(state)) throw new Error(`envoy is ${state}, not LIVE or DRAINING`);
}
