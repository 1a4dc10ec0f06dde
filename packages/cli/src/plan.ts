import type { HookName, ResolvedConfig, TapExtras, TapPlan, TaskMetadata } from '@task-helper/core';
import {
  heldContainerKillMs,
  maskSecrets,
  minStopTimeoutMs,
  plannedWaits,
  stopBudgetMs,
  stopSchedule,
  tapDeadlines,
  type StopSchedule,
  type Runner,
  type SettingRecord,
  type StrayVariable,
} from '@task-helper/core/host';

interface PlannedTap {
  plugin: string;
  stage: number;
  timeoutMs: number | undefined;
  plan: TapPlan | undefined;
  drainAction: boolean;
}

/** One tap on the stop timeline, in milliseconds from the stop signal. */
interface TimelineEntry {
  hook: HookName;
  plugin: string;
  label: string;
  /** As the schedule will run it: a wait the budget cuts ends early. */
  startMs: number;
  endMs: number;
  /** How long the tap plans to take (its `plan.ms`). */
  plannedMs: number;
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
  /** The stop sequence as it will run: the stop schedule (core's one rule) applied to the taps' plans. */
  timeline: StopSchedule & {
    /** The shortest STOP_TIMEOUT the helper accepts (core's minStopTimeoutMs). */
    minStopTimeoutMs: number;
    entries: TimelineEntry[];
    /** When the planned waits would be over, uncut. */
    plannedEndMs: number;
    /** When the waits are over, as cut. */
    waitsEndMs: number;
    fits: boolean;
  };
  /** Kubernetes (PRESTOP_PORT set): how the kubelet spends the pod's grace period around the timeline, which starts at the preStop call; null elsewhere. */
  kubernetes: {
    /** STOP_TIMEOUT: the pod's terminationGracePeriodSeconds. */
    gracePeriodMs: number;
    /** The helper answers the hook by here (the timeline's exitAt): the kubelet then sends the held container SIGTERM. */
    answerByMs: number;
    /** The held container's SIGKILL at the latest (heldContainerKillMs). */
    heldKillByMs: number;
    /** A stop signal with no preStop call before it (a native sidecar's, after the app has exited): the schedule of the kubelet's 2 s. */
    signalFirst: StopSchedule;
  } | null;
}

const STOP_HOOKS = ['beforeDrain', 'drain', 'afterDrain'] as const;

/** What `run` would do, read off the hooks after the plugins applied themselves: nothing runs. */
export function planOf(runner: Runner, config: ResolvedConfig): Plan {
  const hooks = Object.fromEntries(
    (Object.keys(runner.hooks) as HookName[]).map((name) => [
      name,
      runner.hooks[name].taps.map((tap) => {
        const { timeout, plan, drainAction } = tap as typeof tap & TapExtras;
        return { plugin: tap.name, stage: tap.stage ?? 0, timeoutMs: timeout, plan, drainAction: drainAction === true };
      }),
    ]),
  ) as Record<HookName, PlannedTap[]>;

  const onKubernetes = config.preStop !== undefined;
  // On Kubernetes the timeline drawn is the preStop call's; a signal's is given beside it.
  const budgetMs = stopBudgetMs(config.stopTimeout, 'preStop', onKubernetes);
  const schedule = stopSchedule(plannedWaits(runner.hooks, budgetMs));
  const entries: TimelineEntry[] = [];
  let at = 0;
  let plannedEndMs = 0;
  for (const hook of STOP_HOOKS) {
    // The runner's own rule: each tap ends by its point of the schedule.
    const points = tapDeadlines(hook, hooks[hook]);
    hooks[hook].forEach((tap, index) => {
      const ms = tap.plan?.ms ?? 0;
      const endMs = Math.max(at, Math.min(at + ms, schedule[points[index]!]));
      entries.push({
        hook,
        plugin: tap.plugin,
        label: tap.plan?.label ?? '(no plan given)',
        startMs: at,
        endMs,
        plannedMs: ms,
        cut: endMs < at + ms,
      });
      at = endMs;
      plannedEndMs += ms;
    });
  }
  return {
    config: config.file ?? null,
    task: config.task ?? null,
    // A URL's credentials never leave the process, whichever plugin's setting holds them.
    settings: runner.settings.map((setting) => ({ ...setting, value: maskSecrets(setting.value) })),
    unknownEnv: runner.strayEnv,
    hooks,
    timeline: {
      ...schedule,
      minStopTimeoutMs,
      entries,
      plannedEndMs,
      waitsEndMs: at,
      fits: !entries.some((e) => e.cut),
    },
    kubernetes: onKubernetes
      ? {
          gracePeriodMs: config.stopTimeout * 1000,
          answerByMs: schedule.exitAtMs,
          heldKillByMs: heldContainerKillMs(config.stopTimeout, schedule.exitAtMs),
          signalFirst: stopSchedule(plannedWaits(runner.hooks, stopBudgetMs(config.stopTimeout, 'SIGTERM', true))),
        }
      : null,
  };
}
