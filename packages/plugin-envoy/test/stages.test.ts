import { describe, expect, it } from 'vitest';
import { Stage, type Plugin } from '@task-helper/core';
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
  runner.hooks[hook].taps.map((tap) => (tap.name === 'envoy' ? `envoy ${tap.stage}` : tap.name));

describe("envoy's taps stand where their stages say, whatever the plugins list's order", () => {
  it('closes the inbound listeners after afterDrain taps that name no stage, POSTs /quitquitquit last, and /healthcheck/fail before drain taps that name no stage', () => {
    for (const plugins of [
      [envoy(), later],
      [later, envoy()],
    ]) {
      const { runner } = createTestRunner({ plugins, env: { ENVOY_QUIT: 'true' } });
      expect(order(runner, 'afterDrain')).toEqual([
        'later',
        `envoy ${Stage.AFTER_DRAIN_CLOSE_INBOUND}`,
        `envoy ${Stage.AFTER_DRAIN_QUIT}`,
      ]);
      expect(order(runner, 'drain')).toEqual([`envoy ${Stage.DRAIN_ACTION}`, 'later']);
    }
  });
});
