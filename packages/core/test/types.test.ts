// Pins the plugin API's types: checked by `tsc -p .` (part of `pnpm test`); at run time expectTypeOf does nothing.
import { describe, expectTypeOf, it } from 'vitest';
import {
  boolean,
  defineFact,
  definePlugin,
  httpUrl,
  port,
  seconds,
  Stage,
  type Fact,
  type HookContext,
  type Plugin,
  type PluginOptions,
  type ResolvedConfig,
  type StopContext,
  type StopTrigger,
} from '@task-helper/core';
import { SharedFacts } from '../src/shared.ts';

const example = definePlugin({
  name: 'example',
  settings: {
    url: { env: 'EXAMPLE_URL', parse: httpUrl, required: true },
    timeout: { env: 'EXAMPLE_TIMEOUT', parse: seconds(3), default: 3 },
    verbose: { parse: boolean },
    port: { env: 'EXAMPLE_PORT', parse: port, envOnly: true },
    token: { env: 'EXAMPLE_TOKEN', parse: httpUrl, secret: true },
    // A computed default sees the settings before it and the resolved config (its ECS task).
    host: {
      env: 'EXAMPLE_HOST',
      parse: httpUrl,
      default: (_settings: unknown, config: ResolvedConfig) =>
        config.task === undefined ? 'http://127.0.0.1' : 'http://169.254.170.2',
    },
  },
  apply(hooks, { settings }) {
    expectTypeOf(settings.url).toEqualTypeOf<string>();
    expectTypeOf(settings.timeout).toEqualTypeOf<number>();
    expectTypeOf(settings.verbose).toEqualTypeOf<boolean | undefined>();
    expectTypeOf(settings.port).toEqualTypeOf<number | undefined>();
    expectTypeOf(settings.host).toEqualTypeOf<string>();
    hooks.onStart.tapPromise({}, async (ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<HookContext>();
    });
    hooks.drain.tapPromise({ stage: Stage.DRAIN_ACTION }, async (ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<StopContext>();
      expectTypeOf(ctx.stopSignal).toEqualTypeOf<StopTrigger>();
      expectTypeOf(ctx.signalAt).toEqualTypeOf<number>();
      expectTypeOf(ctx.abortSignal).toEqualTypeOf<AbortSignal>();
    });
    hooks.drain.tapPromise({ stage: Stage.DRAIN_DEREGISTER, beside: true, timeout: 30_000 }, async () => undefined);
    // @ts-expect-error beside is a flag
    hooks.drain.tapPromise({ beside: 'yes' }, async () => undefined);
    hooks.beforeDrain.tapPromise({}, async () => ({ skip: 'reason' }));
    // @ts-expect-error a tap is named after its plugin, not by the plugin author
    hooks.drain.tapPromise({ name: 'other' }, async () => undefined);
  },
});

describe('the plugin API', () => {
  it('derives the options a config file may pass from the declared settings', () => {
    expectTypeOf<PluginOptions<typeof example.settings>>().toEqualTypeOf<{
      url?: string;
      timeout?: number;
      verbose?: boolean;
      token?: string;
      host?: string;
    }>();
    expectTypeOf(example).toBeCallableWith({ url: 'https://hooks.example.com' });
    expectTypeOf(example()).toEqualTypeOf<Plugin>();
    // @ts-expect-error env-only settings are not options
    example({ port: 80 });
    // @ts-expect-error an option's type comes from its parser
    example({ timeout: '3' });
  });

  it('gives the onStart context no stop signal', () => {
    expectTypeOf<HookContext>().not.toHaveProperty('stopSignal');
    expectTypeOf<StopContext>().toHaveProperty('stopSignal');
  });

  it('types shared facts by their declaration', () => {
    const drained = defineFact<{ ms: number }>('drained');
    expectTypeOf(drained).toEqualTypeOf<Fact<{ ms: number }>>();
    const shared = new SharedFacts();
    expectTypeOf(shared.whenSet(drained)).toEqualTypeOf<Promise<{ ms: number }>>();
    expectTypeOf(shared.get(drained)).toEqualTypeOf<{ ms: number } | undefined>();
    // @ts-expect-error a fact's value has its declared type
    shared.set(drained, { ms: 'soon' });
  });

  it('names the stages as constants', () => {
    expectTypeOf(Stage.BEFORE_DRAIN_DECIDE).toEqualTypeOf<-100>();
    expectTypeOf(Stage.DRAIN_DEREGISTER).toEqualTypeOf<50>();
    expectTypeOf(Stage.DRAIN_WAIT).toEqualTypeOf<100>();
  });
});
