import { describe, expect, it } from 'vitest';
import type { Plugin } from '@task-helper/core';
import { createTestRunner } from '@task-helper/core/testing';
import envoy from '@task-helper/plugin-envoy';

// A plugin listed after envoy, tapping where no stage is named.
const later: Plugin = {
  name: 'later',
  apply(hooks) {
    hooks.drain.tapPromise({ name: 'later' }, async () => undefined);
    hooks.afterDrain.tapPromise({ name: 'later' }, async () => undefined);
  },
};
const order = (runner: ReturnType<typeof createTestRunner>['runner'], hook: 'drain' | 'afterDrain') =>
  runner.hooks[hook].taps.map((tap) => tap.name);

describe("envoy's taps stand where their stages say, whatever the plugins list's order", () => {
  it('POSTs /quitquitquit last in afterDrain, and /healthcheck/fail before drain taps that name no stage', () => {
    for (const plugins of [
      [envoy(), later],
      [later, envoy()],
    ]) {
      const { runner } = createTestRunner({ plugins, env: { ENVOY_QUIT: 'true' } });
      expect(order(runner, 'afterDrain')).toEqual(['later', 'envoy']);
      expect(order(runner, 'drain')).toEqual(['envoy', 'later']);
    }
  });
});
