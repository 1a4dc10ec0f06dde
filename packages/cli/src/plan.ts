import { afterDrainMarginMs, type HookName, type ResolvedConfig, type TapExtras, type TapPlan, type TaskMetadata } from '@task-helper/core';
import type { Runner, SettingRecord, StrayVariable } from '@task-helper/core/host';

export interface PlannedTap {
  plugin: string;
  stage: number;
  timeoutMs: number | undefined;
  plan: TapPlan | undefined;
}

/** One tap on the stop timeline, in milliseconds from the stop signal. */
export interface TimelineEntry {
  hook: HookName;
  plugin: string;
  label: string;
  startMs: number;
  endMs: number;
  /** The stop budget will end this wait early. */
  cut: boolean;
}

export interface Plan {
  config: string | null;
  /** The ECS task from the metadata endpoint; null outside ECS (or when it could not be read). */
  task: TaskMetadata | null;
  settings: SettingRecord[];
  /** Environment variables that look like settings but that nothing reads. */
  unknownEnv: StrayVariable[];
  hooks: Record<HookName, PlannedTap[]>;
  timeline: {
    stopTimeoutMs: number;
    /** Waits end here, leaving afterDrain its margin. */
    abortAtMs: number;
    entries: TimelineEntry[];
    /** When the planned waits are over (before any cut). */
    waitsEndMs: number;
    fits: boolean;
  };
}

const STOP_HOOKS = ['beforeDrain', 'drain', 'afterDrain'] as const;

/** What `run` would do, read off the hooks after the plugins applied themselves: nothing runs. */
export function planOf(runner: Runner, config: ResolvedConfig): Plan {
  const hooks = Object.fromEntries(
    (Object.keys(runner.hooks) as HookName[]).map((name) => [
      name,
      runner.hooks[name].taps.map((tap) => {
        const { timeout, plan } = tap as typeof tap & TapExtras;
        return { plugin: tap.name, stage: tap.stage ?? 0, timeoutMs: timeout, plan };
      }),
    ]),
  ) as Record<HookName, PlannedTap[]>;

  const stopTimeoutMs = config.stopTimeout * 1000;
  const abortAtMs = stopTimeoutMs - afterDrainMarginMs(config.stopTimeout);
  const entries: TimelineEntry[] = [];
  let at = 0;
  for (const hook of STOP_HOOKS) {
    for (const tap of hooks[hook]) {
      const ms = tap.plan?.ms ?? 0;
      entries.push({ hook, plugin: tap.plugin, label: tap.plan?.label ?? '(no plan given)', startMs: at, endMs: at + ms, cut: hook !== 'afterDrain' && at + ms > abortAtMs });
      at += ms;
    }
  }
  return {
    config: config.file ?? null,
    task: config.task ?? null,
    settings: runner.settings,
    unknownEnv: runner.strayEnv,
    hooks,
    timeline: { stopTimeoutMs, abortAtMs, entries, waitsEndMs: at, fits: at <= abortAtMs },
  };
}
