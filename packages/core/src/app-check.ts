import { get } from 'node:http';
import { checkOptions, boolean, port, readSetting, urlPath } from './settings.ts';
import type { HookContext, Plugin, SkipDrain } from './types.ts';

export const appCheckDefaults = Object.freeze({ enabled: true, port: 8080, path: '/ping/ping', timeoutMs: 2_500 });

export interface AppCheckOptions {
  /** env APP_CHECK=false turns the check off. */
  enabled?: boolean;
  /** The app's port on 127.0.0.1; env PORT. */
  port?: number;
  /** env HEALTHCHECK_PATH. */
  path?: string;
}

const NAME = 'app-check';

/**
 * At the stop signal, skips the whole drain when the app does not answer: a task that failed
 * while starting has no traffic to drain, and waiting would only delay its replacement.
 */
export default function appCheck(options: AppCheckOptions = {}): Plugin {
  return {
    name: NAME,
    apply(hooks, { env }) {
      const opts = checkOptions(`plugin "${NAME}"`, options, ['enabled', 'port', 'path']);
      const enabled = readSetting({ option: 'enabled', env: 'APP_CHECK', parse: boolean, fallback: appCheckDefaults.enabled }, opts, env);
      const appPort = readSetting({ option: 'port', env: 'PORT', parse: port, fallback: appCheckDefaults.port }, opts, env);
      const path = readSetting({ option: 'path', env: 'HEALTHCHECK_PATH', parse: urlPath, fallback: appCheckDefaults.path }, opts, env);
      if (!enabled) return;
      const url = `http://127.0.0.1:${appPort}${path}`;
      // Stage -100: decide before plugin-delay's DRAIN_DELAY (stage 0) starts waiting.
      hooks.beforeDrain.tapPromise({ name: NAME, stage: -100, timeout: appCheckDefaults.timeoutMs + 1_000 }, (ctx) => check(url, ctx));
    },
  };
}

async function check(url: string, ctx: HookContext): Promise<SkipDrain | undefined> {
  try {
    const status = await probe(url, ctx.abortSignal);
    ctx.logger.info({ url, status }, 'app is up');
    return undefined;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    ctx.logger.warn({ url, reason }, 'app is not reachable: the task failed while starting, skipping the drain');
    return { skip: `app not reachable at ${url} (${reason})` };
  }
}

/**
 * Any HTTP answer, redirects included, means the app is up. node:http rather than fetch, which
 * refuses "bad ports" such as 6000 and would report a healthy app there as unreachable.
 */
function probe(url: string, abortSignal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const timeout = AbortSignal.timeout(appCheckDefaults.timeoutMs);
    const request = get(url, { signal: AbortSignal.any([abortSignal, timeout]) }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', (error) =>
      reject(timeout.aborted ? Object.assign(new Error(`no answer within ${appCheckDefaults.timeoutMs} ms`), { code: 'TIMEOUT' }) : error),
    );
  });
}
