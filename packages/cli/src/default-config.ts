import delay from '@task-helper/plugin-delay';
import envoy from '@task-helper/plugin-envoy';
import appCheck from './app-check.ts';
import type { Plugin } from '@task-helper/core';

/** What runs when no config file is found: the ECS sidecar, configured from the environment alone. */
export function defaultPlugins(): Plugin[] {
  return [appCheck(), delay(), envoy()];
}
