import {
  definePlugin,
  REPLACEMENTS_IN_SERVICE,
  seconds,
  Stage,
  TRAFFIC_STOPPED,
  type HookContext,
  type PluginOptions,
  type SetupContext,
} from '@task-helper/core';
// The stop schedule, to warn at start when the waits do not fit: a built-in plugin's view of the host.
import { stopSchedule } from '@task-helper/core/host';

/** The original helper's defaults, in seconds. */
const delayDefaults = Object.freeze({ drainDelay: 40, drainTimeout: 40 });

/** Why each wait can end early: the fact it waits for. */
const EARLY_END = { drainDelay: 'replacements in service', drainTimeout: 'traffic stopped' } as const;

/** The drain's two waits: DRAIN_DELAY before it, DRAIN_TIMEOUT during it. */
const delay = definePlugin({
  name: 'delay',
  settings: {
    drainDelay: {
      env: 'DRAIN_DELAY',
      description:
        'seconds from the stop signal to the drain (`beforeDrain`), so replacement tasks come into service first; counted from the signal, so the steps before it (the app check) do not lengthen it. Ends early once a plugin reports the replacements in service (`DRAIN_DELAY_UNTIL`); the stop budget cuts it first',
      parse: seconds(40),
      default: delayDefaults.drainDelay,
    },
    drainTimeout: {
      env: 'DRAIN_TIMEOUT',
      description:
        'seconds to wait after `/healthcheck/fail` (`drain`), for callers to notice and in-flight requests to end; ends early once a plugin reports traffic stopped (`DRAIN_MIN`)',
      parse: seconds(40),
      default: delayDefaults.drainTimeout,
    },
  },
  apply(hooks, setup) {
    const { drainDelay, drainTimeout } = setup.settings;
    warnIfOverBudget(setup, drainDelay, drainTimeout);
    // Both waits are bounded by the stop budget, not by a tap timeout of their own.
    // Counted from the stop signal, so the app check before it (up to 2.5 s) does not lengthen it.
    hooks.beforeDrain.tapPromise(
      { stage: Stage.BEFORE_DRAIN_DELAY, timeout: Infinity, plan: { label: 'DRAIN_DELAY', ms: drainDelay * 1000 } },
      (ctx) =>
        wait(
          ctx,
          'drainDelay',
          drainDelay * 1000 - (Date.now() - ctx.signalAt),
          ctx.shared.whenSet(REPLACEMENTS_IN_SERVICE),
        ),
    );
    hooks.drain.tapPromise(
      { stage: Stage.DRAIN_WAIT, timeout: Infinity, plan: { label: 'DRAIN_TIMEOUT', ms: drainTimeout * 1000 } },
      (ctx) => wait(ctx, 'drainTimeout', drainTimeout * 1000, ctx.shared.whenSet(TRAFFIC_STOPPED)),
    );
  },
});
export default delay;

export type DelayOptions = PluginOptions<typeof delay.settings>;

/** Says at start, not at SIGKILL, when the waits cannot fit the stop budget, and the schedule that will run instead (core's stopSchedule). */
function warnIfOverBudget(
  { config, logger }: Pick<SetupContext, 'config' | 'logger'>,
  drainDelay: number,
  drainTimeout: number,
): void {
  const s = stopSchedule({
    stopTimeoutMs: config.stopTimeout * 1000,
    delayMs: drainDelay * 1000,
    drainWaitMs: drainTimeout * 1000,
  });
  if (!s.cut) return;
  const sec = (ms: number): number => +(ms / 1000).toFixed(3);
  const margin = sec(s.stopTimeoutMs - s.abortAtMs);
  logger.warn(
    {
      drainDelay,
      drainTimeout,
      afterDrainMargin: margin,
      stopTimeout: config.stopTimeout,
      cutDrainDelay: sec(s.delayMs),
      cutDrainTimeout: sec(s.drainWaitMs),
    },
    `DRAIN_DELAY ${drainDelay} s + DRAIN_TIMEOUT ${drainTimeout} s + ${margin} s kept for afterDrain do not fit STOP_TIMEOUT ${config.stopTimeout} s: ` +
      `DRAIN_DELAY will be cut to ${sec(s.delayMs)} s and DRAIN_TIMEOUT to ${sec(s.drainWaitMs)} s, so the drain starts at ${sec(s.delayMs)} s ` +
      `and callers get ${sec(s.drainWaitMs)} s to notice it (afterDrain still runs before SIGKILL); raise stopTimeout or shorten the waits`,
  );
}

async function wait(
  ctx: HookContext,
  label: keyof typeof EARLY_END,
  msToWait: number,
  until: Promise<unknown>,
): Promise<undefined> {
  const ms = Math.max(0, msToWait);
  ctx.logger.info({ wait: label, ms }, `${label} started`);
  const started = Date.now();
  const ended = await ctx.sleep(ms, { label, until });
  const reason = ended === 'elapsed' ? 'timeout' : ended === 'until' ? EARLY_END[label] : 'budget';
  ctx.logger.info({ wait: label, ms: Date.now() - started, reason }, `${label} ended`);
  return undefined;
}
