import { checkOptions, httpUrl, port, readSetting, type Plugin } from '@task-helper/core';
import { createAdminClient } from './admin-client.ts';

export { adminRequestDefaults, AdminRequestError, createAdminClient, type AdminRequest } from './admin-client.ts';

export const envoyDefaults = Object.freeze({ adminUrl: 'http://127.0.0.1:9901' });

export interface EnvoyOptions {
  /** Envoy's admin API; env ENVOY_ADMIN_URL, else 127.0.0.1 on ENVOY_ADMIN_ACCESS_PORT (App Mesh's variable). */
  adminUrl?: string;
}

const NAME = 'envoy';

export default function envoy(options: EnvoyOptions = {}): Plugin {
  return {
    name: NAME,
    apply(hooks, { env }) {
      const opts = checkOptions(`plugin "${NAME}"`, options, ['adminUrl']);
      const accessPort = readSetting({ option: 'adminAccessPort', env: 'ENVOY_ADMIN_ACCESS_PORT', parse: port, fallback: undefined }, {}, env);
      const fallback = accessPort === undefined ? envoyDefaults.adminUrl : `http://127.0.0.1:${accessPort}`;
      const adminUrl = readSetting({ option: 'adminUrl', env: 'ENVOY_ADMIN_URL', parse: httpUrl, fallback }, opts, env);
      const admin = createAdminClient(adminUrl);

      // Stage 0: the drain's action; plugin-delay's DRAIN_TIMEOUT wait follows at a later stage.
      hooks.drain.tapPromise({ name: NAME }, async (ctx) => {
        const started = Date.now();
        await admin.post('/healthcheck/fail', ctx);
        ctx.logger.info({ adminUrl, ms: Date.now() - started }, 'envoy health check failed: callers will stop routing here');
      });
    },
  };
}
