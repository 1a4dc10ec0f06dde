import appCheck from '@task-helper/plugin-app-check';
import delay from '@task-helper/plugin-delay';
import { cloudMap, targetGroups } from '@task-helper/plugin-aws';
import envoy from '@task-helper/plugin-envoy';
import type { Plugin } from '@task-helper/core';

/**
 * What runs when no config file is found: the ECS sidecar, configured from the environment alone.
 * The AWS plugins do nothing (and load no SDK) unless CLOUD_MAP_SERVICE_ID or TARGET_GROUP_ARNS is set.
 */
export function defaultPlugins(): Plugin[] {
  return [appCheck(), delay(), envoy(), cloudMap(), targetGroups()];
}
