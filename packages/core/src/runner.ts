import type { Logger } from 'pino';
import type { FullTap } from 'tapable';
import { AbortReason } from './abort-reasons.ts';
import { abortAfter } from './abort-after.ts';
import { startBudget } from './budget.ts';
import { defaults } from './defaults.ts';
import { ConfigError, firstLine } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { createHooks } from './hooks.ts';
import { resolveSetting, settingRecord, type SettingRecord, type SettingSpec } from './settings.ts';
import { SharedFacts } from './shared.ts';
import { strayVariables, type StrayVariable } from './stray-env.ts';
import { createSleep } from './sleep.ts';
import { plannedWaits, stopSchedule } from './stop-schedule.ts';
import type { TapLimit } from './run-tap.ts';
import type { HookContext, HookName, Hooks, ResolvedConfig, Step, TapExtras } from './types.ts';

export interface RunnerOptions {
  config: ResolvedConfig;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * Owns the hooks and runs them: `start()` runs onStart and logs `ready`; `stop(signal)` runs
 * beforeDrain, drain (unless skipped) and afterDrain within the stop budget, once, and resolves
 * with the exit code.
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
  /** `beside` taps still running in the current hook. */
  #beside: Array<Promise<unknown>> = [];
  #starting: Promise<void> = Promise.resolve();
  readonly #startAbort = new AbortController();
  #stopping: Promise<number> | undefined;
  #skipped: string | undefined;
  #actionDue: TapLimit | undefined;
  #strayErrors = 0;

  constructor({ config, logger, env = process.env }: RunnerOptions) {
    this.config = config;
    this.#phaseLogger = {
      start: logger.child({ phase: 'start' }),
      stop: logger.child({ phase: 'stop' }),
      health: logger.child({ phase: 'health' }),
    };
    this.hooks = createHooks(
      (step) => this.steps.push(step),
      (running) => this.#beside.push(running),
      (hook, tap) => this.#limitOf(hook, tap),
    );
    this.settings = [...config.settings];
    for (const plugin of config.plugins) {
      const setting = <T>(spec: SettingSpec<T>, options: Readonly<Record<string, unknown>>): T => {
        const { value, source } = resolveSetting(spec, options, env);
        this.settings.push(settingRecord(plugin.name, spec, value, source));
        return value;
      };
      try {
        plugin.apply(this.hooks, { env, config, logger: logger.child({ plugin: plugin.name }), setting });
      } catch (error) {
        const problem =
          error instanceof ConfigError ? `: ${error.message}` : ` could not be set up: ${firstLine(error)}`;
        throw new ConfigError(`plugin "${plugin.name}"${problem}`);
      }
    }
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

  /** Runs the stop sequence; a second call returns the first call's promise. */
  stop(signal: NodeJS.Signals): Promise<number> {
    this.#stopping ??= this.#stop(signal);
    return this.#stopping;
  }

  /** An error no plugin awaited was caught (stray-errors.ts): the drain goes on, and exits 1. */
  noteStrayError(): void {
    this.#strayErrors += 1;
  }

  /** Runs the `health` hook once, within `defaults.healthTimeoutMs`, and returns its steps. */
  async health(): Promise<Step[]> {
    const limit = abortAfter(defaults.healthTimeoutMs, AbortReason.healthTimeout);
    try {
      await this.#phase('health', limit.signal, Date.now() + defaults.healthTimeoutMs, (ctx) =>
        this.hooks.health.promise(ctx),
      );
    } finally {
      limit.cancel();
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
    const startTimeoutMs = this.config.startTimeout * 1000;
    const limit = abortAfter(startTimeoutMs, AbortReason.startTimeout);
    try {
      const signal = AbortSignal.any([this.#startAbort.signal, limit.signal]);
      await this.#phase('onStart', signal, started + startTimeoutMs, (ctx) => this.hooks.onStart.promise(ctx));
    } finally {
      limit.cancel();
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

  async #stop(signal: NodeJS.Signals): Promise<number> {
    const started = Date.now();
    const stop = { stopSignal: signal, signalAt: started };
    const schedule = stopSchedule(plannedWaits(this.hooks, this.config.stopTimeout));
    const budget = startBudget(schedule, started);
    this.#actionDue = { signal: budget.actionDueSignal, at: budget.actionDueAt };
    this.#phaseLogger.stop.info(
      {
        signal,
        stopTimeout: this.config.stopTimeout,
        actionDueInMs: schedule.actionDueMs,
        abortInMs: schedule.abortAtMs,
      },
      'stop signal received',
    );
    this.#startAbort.abort(AbortReason.stopSignal);
    await this.#starting;

    const { drainSignal, abortAt, exitSignal, exitAt } = budget;
    const bail = await this.#phase('beforeDrain', drainSignal, abortAt, (ctx) =>
      this.hooks.beforeDrain.promise({ ...ctx, ...stop, hook: 'beforeDrain' }),
    );
    this.#skipped = bail?.skip;
    if (bail) this.#phaseLogger.stop.info({ reason: bail.skip }, 'drain skipped');
    else
      await this.#phase('drain', drainSignal, abortAt, (ctx) =>
        this.hooks.drain.promise({ ...ctx, ...stop, hook: 'drain' }),
      );
    await this.#phase('afterDrain', exitSignal, exitAt, (ctx) =>
      this.hooks.afterDrain.promise({ ...ctx, ...stop, hook: 'afterDrain' }),
    );
    budget.dispose();

    const failed = this.#strayErrors > 0 || this.steps.some((s) => s.outcome === 'failed' || s.outcome === 'timeout');
    const exitCode = failed ? ExitCode.stepFailed : ExitCode.ok;
    this.#phaseLogger.stop.info(
      {
        signal,
        ms: Date.now() - started,
        exitCode,
        ...(bail ? { skipped: bail.skip } : {}),
        ...(this.#strayErrors > 0 ? { strayErrors: this.#strayErrors } : {}),
        steps: this.steps,
      },
      'drain finished',
    );
    return exitCode;
  }

  /**
   * Every beforeDrain tap, and every drain tap before the drain's action, must end when the
   * schedule says the action is due, whatever its own timeout: no plugin can spend the action's time.
   */
  #limitOf(hook: HookName, tap: FullTap & TapExtras): TapLimit | undefined {
    if (hook === 'beforeDrain') return this.#actionDue;
    if (hook !== 'drain') return undefined;
    const taps = this.hooks.drain.taps as Array<FullTap & TapExtras>;
    const action = taps.findIndex((t) => t.drainAction);
    return action >= 0 && taps.indexOf(tap) < action ? this.#actionDue : undefined;
  }

  /**
   * Runs one hook and waits for its `beside` taps (each bounded by its own timeout and `limit`);
   * its taps' abortSignals fire at `limit` or, at the latest, when the hook is over.
   */
  async #phase<T>(
    hook: HookName,
    limit: AbortSignal,
    deadline: number,
    run: (ctx: HookContext) => Promise<T>,
  ): Promise<T> {
    const over = new AbortController();
    try {
      const result = await run(this.#context(hook, AbortSignal.any([limit, over.signal]), deadline));
      // runTap never rejects, and abandons a tap that ignores its abortSignal.
      while (this.#beside.length > 0) await Promise.all(this.#beside.splice(0));
      return result;
    } finally {
      over.abort(AbortReason.hookFinished);
    }
  }

  #context(hook: HookName, abortSignal: AbortSignal, deadline: number): HookContext {
    return {
      steps: this.steps,
      skipped: this.#skipped,
      hook,
      logger: this.#phaseLogger[phaseOf(hook)],
      abortSignal,
      deadline,
      sleep: createSleep(this.#phaseLogger[phaseOf(hook)], abortSignal),
      config: this.config,
      shared: this.#shared,
    };
  }
}

function phaseOf(hook: HookName): 'start' | 'stop' | 'health' {
  return hook === 'onStart' ? 'start' : hook === 'health' ? 'health' : 'stop';
}
