import type { Logger } from 'pino';
import { AsyncSeriesBailHook, AsyncSeriesHook } from 'tapable';
import { AbortReason, Deadline } from './deadline.ts';
import { defaults } from './defaults.ts';
import { ConfigError, firstLine } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { runTap, type HookBase, type Tap } from './run-tap.ts';
import { resolveSetting, settingRecord, type SettingRecord, type SettingSpec } from './settings.ts';
import { SharedFacts } from './shared.ts';
import { tapScope } from './stray-errors.ts';
import { strayVariables, type StrayVariable } from './stray-env.ts';
import {
  plannedWaits,
  stopBudgetMs,
  stopSchedule,
  tapDeadlines,
  type SchedulePoint,
  type StopTrigger,
} from './stop-schedule.ts';
import { watchStop, type Watchdog } from './watchdog.ts';
import type {
  HookContext,
  HookName,
  Hooks,
  ResolvedConfig,
  SkipDrain,
  Step,
  StopContext,
  StopHookName,
  TapExtras,
  TapHooks,
} from './types.ts';

export interface RunnerOptions {
  config: ResolvedConfig;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Log lines dropped so far because the log consumer was not reading, for `drain finished`. */
  droppedLogLines?: () => number;
}

/**
 * Owns the hooks and runs them: `start()` runs onStart and logs `ready`; `stop(signal)` runs
 * beforeDrain, drain (unless skipped) and afterDrain within the stop budget, once, and resolves
 * with the exit code. tapable is the registration API (`tapPromise` with `stage` and `before`,
 * which order `hook.taps`); the runner runs each hook's taps itself, one `runTap` at a time.
 */
export class Runner {
  readonly hooks: Hooks;
  readonly steps: Step[] = [];
  /** Every setting core and the plugins read, with its source. */
  readonly settings: SettingRecord[];
  /** Environment variables that look like settings but that nothing reads: typos, most likely. */
  readonly strayEnv: StrayVariable[];
  readonly config: ResolvedConfig;
  /** Every line of a phase carries `phase` (start, stop, health), so one query finds a whole drain. */
  readonly #phaseLogger: Record<'start' | 'stop' | 'health', Logger>;
  readonly #shared = new SharedFacts();
  #starting: Promise<void> = Promise.resolve();
  readonly #startAbort = new AbortController();
  #stopping: Promise<number> | undefined;
  #trigger: StopTrigger | undefined;
  #skipped: string | undefined;
  #strayErrors = 0;
  #watchdog: Watchdog | undefined;
  readonly #droppedLogLines: () => number;
  #exitAt: number | undefined;
  #heldExits = 0;

  constructor({ config, logger, env, droppedLogLines = () => 0 }: RunnerOptions) {
    this.config = config;
    this.#droppedLogLines = droppedLogLines;
    this.#phaseLogger = {
      start: logger.child({ phase: 'start' }),
      stop: logger.child({ phase: 'stop' }),
      health: logger.child({ phase: 'health' }),
    };
    this.hooks = createHooks();
    this.settings = [...config.settings];
    const hooks = tapOnly(this.hooks);
    refuseDuplicates(config.plugins.map((plugin) => plugin.name));
    for (const plugin of config.plugins) {
      const setting = <T>(spec: SettingSpec<T>, options: Readonly<Record<string, unknown>>): T => {
        const { value, source } = resolveSetting(spec, options, env);
        this.settings.push(settingRecord(plugin.name, spec, value, source));
        return value;
      };
      try {
        // In the plugin's scope, so what its setup starts (a signal listener, a timer) is known to be its own.
        tapScope.run({ plugin: plugin.name, hook: 'apply' }, () =>
          plugin.apply(hooks, { env, config, logger: logger.child({ plugin: plugin.name }), setting }),
        );
      } catch (error) {
        const problem =
          error instanceof ConfigError ? `: ${error.message}` : ` could not be set up: ${firstLine(error)}`;
        throw new ConfigError(`plugin "${plugin.name}"${problem}`);
      }
    }
    refuseSecondAction(this.#taps('drain'));
    this.strayEnv = strayVariables(env, this.settings);
  }

  /** Runs onStart, unless a stop signal came first (while the config loaded): then the drain goes on alone. */
  start(): Promise<void> {
    if (this.#stopping) {
      this.#phaseLogger.start.warn('start skipped: a stop signal came first');
      return this.#stopping.then(() => undefined);
    }
    this.#starting = this.#start();
    return this.#starting;
  }

  /**
   * Runs the stop sequence, its budget counted from `signalAt` (the signal's or the preStop call's
   * arrival); a second call, whatever its trigger, returns the first call's promise.
   */
  stop(trigger: StopTrigger, signalAt = Date.now()): Promise<number> {
    this.#stopping ??= this.#stop(trigger, signalAt);
    return this.#stopping;
  }

  /** What started the stop, once one has begun. */
  get stoppedBy(): StopTrigger | undefined {
    return this.#trigger;
  }

  /** Epoch ms of the stop budget's `exitAt`, once a stop has begun: the exit waits for the log consumer until then at most. */
  get exitAt(): number | undefined {
    return this.#exitAt;
  }

  /** An error no plugin awaited was caught (stray-errors.ts): the drain goes on, and exits 1. */
  noteStrayError(): void {
    this.#strayErrors += 1;
  }

  /** A plugin tried to end the process (exit-guard.ts): held until the drain is over, and the exit is 1. */
  noteHeldExit(): void {
    this.#heldExits += 1;
  }

  /** Runs the `health` hook once, within `defaults.healthTimeoutMs`, and returns its steps. */
  async health(): Promise<Step[]> {
    const deadline = Deadline.after(defaults.healthTimeoutMs, AbortReason.healthTimeout);
    try {
      await this.#runHook('health', () => deadline);
    } finally {
      deadline.cancel();
    }
    return this.steps.filter((s) => s.hook === 'health');
  }

  async #start(): Promise<void> {
    const started = Date.now();
    for (const { name, closest } of this.strayEnv) {
      this.#phaseLogger.start.warn(
        { variable: name, closest },
        'environment variable ignored: task-helper and its plugins do not read it',
      );
    }
    const timeout = Deadline.after(this.config.startTimeout * 1000, AbortReason.startTimeout, started);
    try {
      const deadline = timeout.earliest(Deadline.of(this.#startAbort.signal));
      await this.#runHook('onStart', () => deadline);
    } finally {
      timeout.cancel();
    }
    if (this.#startAbort.signal.aborted) {
      this.#phaseLogger.start.warn({ ms: Date.now() - started }, 'start interrupted by stop signal');
      return;
    }
    this.#phaseLogger.start.info(
      { ms: Date.now() - started, steps: this.steps.filter((s) => s.hook === 'onStart') },
      'ready',
    );
  }

  async #stop(signal: StopTrigger, started: number): Promise<number> {
    this.#trigger = signal;
    const onKubernetes = this.config.preStop !== undefined;
    const budgetMs = stopBudgetMs(this.config.stopTimeout, signal, onKubernetes);
    const schedule = stopSchedule(plannedWaits(this.hooks, budgetMs));
    // First: whatever the plugins do to the main thread from here on, the fail goes out (watchdog.ts).
    this.#watchdog = watchStop(this.hooks, schedule, started, this.#phaseLogger.stop);
    // The stop budget: each point of the schedule as a deadline counted from the stop signal.
    const points: Record<SchedulePoint, Deadline> = {
      actionDueMs: Deadline.at(started + schedule.actionDueMs, AbortReason.drainActionDue, started),
      abortAtMs: Deadline.at(started + schedule.abortAtMs, AbortReason.stopBudget, started),
      exitAtMs: Deadline.at(started + schedule.exitAtMs, AbortReason.stopBudget, started),
    };
    this.#exitAt = started + schedule.exitAtMs;
    const fields = {
      signal,
      stopTimeout: this.config.stopTimeout,
      ...(onKubernetes ? { budgetMs } : {}),
      actionDueInMs: schedule.actionDueMs,
      abortInMs: schedule.abortAtMs,
    };
    if (signal === 'preStop') this.#phaseLogger.stop.info(fields, 'preStop call received');
    else if (onKubernetes)
      this.#phaseLogger.stop.warn(
        fields,
        "stop signal with no preStop call before it: a native sidecar's SIGTERM comes after the app has exited, with the kubelet's 2 s; check the app's preStop httpGet to GET /prestop on PRESTOP_HOST:PRESTOP_PORT",
      );
    else this.#phaseLogger.stop.info(fields, 'stop signal received');
    this.#startAbort.abort(AbortReason.stopSignal);
    await this.#starting;

    const stop = { stopSignal: signal, signalAt: started };
    // Each tap of a stop hook ends by its point of the schedule (tapDeadlines: the rule `plan` draws too).
    const stopHook = (hook: StopHookName) => {
      const bounds = tapDeadlines(hook, this.#taps(hook)).map((point) => points[point]);
      return this.#runHook(hook, (index) => bounds[index]!, stop);
    };
    let bail: SkipDrain | undefined;
    try {
      bail = await stopHook('beforeDrain');
      this.#skipped = bail?.skip;
      if (bail) {
        this.#watchdog?.actionDone();
        this.#phaseLogger.stop.info({ reason: bail.skip }, 'drain skipped');
      } else await stopHook('drain');
      await stopHook('afterDrain');
    } finally {
      for (const deadline of Object.values(points)) deadline.cancel();
      this.#watchdog?.over();
    }

    const failed =
      this.#strayErrors > 0 ||
      this.#heldExits > 0 ||
      this.steps.some((s) => s.outcome === 'failed' || s.outcome === 'timeout');
    const exitCode = failed ? ExitCode.stepFailed : ExitCode.ok;
    const droppedLogLines = this.#droppedLogLines();
    this.#phaseLogger.stop.info(
      {
        signal,
        ms: Date.now() - started,
        exitCode,
        ...(bail ? { skipped: bail.skip } : {}),
        ...(this.#strayErrors > 0 ? { strayErrors: this.#strayErrors } : {}),
        ...(droppedLogLines > 0 ? { droppedLogLines } : {}),
        ...(this.#heldExits > 0 ? { heldExits: this.#heldExits } : {}),
        steps: this.steps,
      },
      'drain finished',
    );
    return exitCode;
  }

  #taps(hook: HookName): Tap[] {
    return this.hooks[hook].taps as Tap[];
  }

  /**
   * Runs a hook's taps in tapable's order (stage, then `before`, then registration), each bounded
   * by `bound(index)`, and waits for its `beside` taps. The context is built once here; runTap adds
   * each tap's own logger, abortSignal, deadline and sleep. beforeDrain stops at the first tap that
   * asks to skip the drain, and returns its request. When the hook is over, the abortSignal of every
   * tap it ran fires (`hookFinished`), which stops work a tap left running in the background.
   */
  async #runHook(
    hook: HookName,
    bound: (index: number) => Deadline,
    stop?: Pick<StopContext, 'stopSignal' | 'signalAt'>,
  ): Promise<SkipDrain | undefined> {
    const over = new AbortController();
    const ended = Deadline.of(over.signal);
    const base: HookBase = {
      hook,
      steps: this.steps,
      skipped: this.#skipped,
      config: this.config,
      shared: this.#shared,
      ...stop,
    };
    const logger = this.#phaseLogger[phaseOf(hook)];
    const beside: Array<Promise<unknown>> = [];
    try {
      for (const [index, tap] of this.#taps(hook).entries()) {
        const run = runTap(tap, base, logger, bound(index).earliest(ended)).then(({ step, skip }) => {
          this.steps.push(step);
          if (tap.drainAction && step.outcome === 'ok') this.#watchdog?.actionDone();
          return skip;
        });
        if (tap.beside) beside.push(run);
        else {
          const skip = await run;
          if (skip && hook === 'beforeDrain') return skip;
        }
      }
      return undefined;
    } finally {
      // runTap never rejects, and abandons a tap that ignores its abortSignal.
      await Promise.all(beside);
      over.abort(AbortReason.hookFinished);
    }
  }
}

/** Two plugins of one name would run twice (two POSTs) with steps and logs no one can tell apart. */
function refuseDuplicates(names: readonly string[]): void {
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined)
    throw new ConfigError(
      `plugin "${twice}" is listed more than once in plugins: each plugin runs once; remove the extra entry (or give your own plugin a name of its own)`,
    );
}

/**
 * One drain, one action: the schedule keeps the drain's time for one tap, so a second would
 * either eat that time (in front of Envoy's POST) or get none of it. Refused, not both protected.
 */
function refuseSecondAction(taps: readonly Tap[]): void {
  const actions = taps.filter((tap) => tap.drainAction);
  if (actions.length > 1)
    throw new ConfigError(
      `drain has ${actions.length} taps marked drainAction (${actions.map((tap) => `plugin "${tap.name}"`).join(', ')}): there is one drain action, POST /healthcheck/fail; tap yours without drainAction (a lower stage runs it before the action, bounded by when the action is due)`,
    );
}

/** The lifecycle hooks (and `health`): tapable holds the taps in order; the runner runs them. */
function createHooks(): Hooks {
  return Object.freeze({
    onStart: new AsyncSeriesHook<[HookContext], TapExtras>(['ctx'], 'onStart'),
    beforeDrain: new AsyncSeriesBailHook<[StopContext], SkipDrain | undefined, TapExtras>(['ctx'], 'beforeDrain'),
    drain: new AsyncSeriesHook<[StopContext], TapExtras>(['ctx'], 'drain'),
    afterDrain: new AsyncSeriesHook<[StopContext], TapExtras>(['ctx'], 'afterDrain'),
    health: new AsyncSeriesHook<[HookContext], TapExtras>(['ctx'], 'health'),
  });
}

/** What a plugin gets, however it is written: tapping only, bound to the runner's hooks. */
function tapOnly(hooks: Hooks): TapHooks {
  const view = (hook: Hooks[HookName]) =>
    Object.freeze({
      tap: hook.tap.bind(hook),
      tapAsync: hook.tapAsync.bind(hook),
      tapPromise: hook.tapPromise.bind(hook),
    });
  return Object.freeze({
    onStart: view(hooks.onStart),
    beforeDrain: view(hooks.beforeDrain),
    drain: view(hooks.drain),
    afterDrain: view(hooks.afterDrain),
    health: view(hooks.health),
  }) as TapHooks;
}

function phaseOf(hook: HookName): 'start' | 'stop' | 'health' {
  return hook === 'onStart' ? 'start' : hook === 'health' ? 'health' : 'stop';
}
