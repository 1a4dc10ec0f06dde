// DRAIN_DELAY_UNTIL=replacements: the rule (when can the service lose this task?) and the loop that
// reads the service until it holds. What a read asks AWS is service-view.ts's job.
import { REPLACEMENTS_IN_SERVICE, type StopContext } from '@task-helper/core';

/** One read of the service, as the rule needs it. */
export interface ServiceView {
  /** The ECS service's desiredCount. */
  desiredCount: number;
  /** The id of the service's PRIMARY deployment (the one a rolling update rolls towards). */
  primaryDeployment: string;
  /**
   * The instances discovery returns HEALTHY, other than this task, each with the deployment that
   * started its task (ECS `startedBy`), or undefined when no ECS task has the instance's id.
   */
  healthy: ReadonlyArray<{ id: string; deployment: string | undefined }>;
  /** When discovery answered (epoch ms): an instance first seen in this read was healthy then. */
  seenAt: number;
}

/** Where the rule stands after a read. */
export interface RuleState {
  /** How many replacements the service needs besides this task: REPLACEMENTS_MIN, else desiredCount. */
  required: number;
  /** Healthy instances in the PRIMARY deployment, other than this task. */
  replacements: number;
  /** Of those, how many have been seen healthy for the whole propagation time. */
  propagated: number;
  /** Which part of the rule is still open: too few replacements, or callers' time to learn them. */
  open: 'replacements' | 'propagation' | undefined;
  /** When the rule holds if nothing changes (epoch ms); undefined while replacements are missing. */
  readyAt: number | undefined;
}

/**
 * The service can lose this task once at least `required` other instances are HEALTHY in discovery
 * and in the PRIMARY deployment, each seen healthy, without a gap, for `propagationMs`. An
 * instance that drops out of a read starts its time again when it comes back.
 */
export class ReplacementsRule {
  readonly #firstSeen = new Map<string, number>();
  readonly #propagationMs: number;
  readonly #min: number | undefined;

  constructor(propagationMs: number, min: number | undefined) {
    this.#propagationMs = propagationMs;
    this.#min = min;
  }

  observe(view: ServiceView, now: number): RuleState {
    const present = new Set(view.healthy.map((i) => i.id));
    for (const id of this.#firstSeen.keys()) if (!present.has(id)) this.#firstSeen.delete(id);
    for (const id of present) if (!this.#firstSeen.has(id)) this.#firstSeen.set(id, Math.min(view.seenAt, now));
    const since = view.healthy
      .filter((i) => i.deployment === view.primaryDeployment)
      .map((i) => this.#firstSeen.get(i.id)!)
      .sort((a, b) => a - b);
    const required = this.#min ?? view.desiredCount;
    const propagated = since.filter((t) => now - t >= this.#propagationMs).length;
    // `required` 0 (a service scaled to zero): no replacement will come, and no caller can use one.
    const readyAt =
      required === 0 ? now : since.length >= required ? since[required - 1]! + this.#propagationMs : undefined;
    const open = readyAt === undefined ? 'replacements' : readyAt > now ? 'propagation' : undefined;
    return { required, replacements: since.length, propagated, open, readyAt };
  }
}

export const pollDefaults = Object.freeze({
  /** The mean time between reads; each is drawn from ±25 % of it, so a deployment's helpers do not poll in step. */
  pollMs: 2_000,
  jitter: 0.25,
  /** Progress lines at least this often while nothing changes. */
  progressMs: 5_000,
});

/** The time to the next read: `pollMs` ± `jitter`. */
export function nextPollMs(random: () => number = Math.random): number {
  return Math.round(pollDefaults.pollMs * (1 - pollDefaults.jitter + 2 * pollDefaults.jitter * random()));
}

/**
 * Reads the service every couple of seconds (sooner when the rule is due to hold before the next
 * read, so its end is confirmed by a read) until the rule holds, then sets REPLACEMENTS_IN_SERVICE.
 * Returns when it is set (`held`), or when `ctx.abortSignal` fires (the DRAIN_DELAY wait is over,
 * or the budget), with the last state read; `read` throwing ends it, for the caller to report.
 */
export async function watchReplacements(
  ctx: StopContext,
  read: () => Promise<ServiceView>,
  rule: ReplacementsRule,
  fields: Readonly<Record<string, unknown>>,
): Promise<{ held: boolean; state: RuleState | undefined }> {
  let said: string | undefined;
  let saidAt = 0;
  let state: RuleState | undefined;
  for (;;) {
    let view: ServiceView;
    try {
      view = await read();
    } catch (error) {
      // A read the end of DRAIN_DELAY cut short is the watch ending, not a failure.
      if (ctx.abortSignal.aborted) return { held: false, state };
      throw error;
    }
    if (ctx.abortSignal.aborted) return { held: false, state };
    const now = Date.now();
    state = rule.observe(view, now);
    const sinceSignalMs = now - ctx.signalAt;
    if (state.open === undefined) {
      ctx.shared.set(REPLACEMENTS_IN_SERVICE, {
        replacements: state.replacements,
        required: state.required,
        sinceSignalMs,
      });
      return { held: true, state };
    }
    const summary = `${state.replacements}/${state.propagated}/${state.required}/${view.primaryDeployment}`;
    if (summary !== said || now - saidAt >= pollDefaults.progressMs) {
      ctx.logger.info(
        {
          ...fields,
          replacements: state.replacements,
          propagated: state.propagated,
          required: state.required,
          open: state.open,
          healthyOthers: view.healthy.length,
          primaryDeployment: view.primaryDeployment,
          sinceSignalMs,
        },
        'waiting for replacements',
      );
      said = summary;
      saidAt = now;
    }
    const next = nextPollMs();
    const ms = state.readyAt === undefined ? next : Math.max(0, Math.min(next, state.readyAt - now));
    if ((await ctx.sleep(ms)) === 'aborted') return { held: false, state };
  }
}
