import { errorText, type HookContext } from '@task-helper/core';
import type { AdminClient } from './admin-client.ts';

/** An Envoy release, as `/server_info` names it. */
export interface EnvoyRelease {
  major: number;
  minor: number;
  patch: number;
}

/** What ENVOY_DRAIN_LISTENERS asks for, when it asks for anything. */
type DrainListenersMode = 'all' | 'inbound';

/** The newest release whose `/drain_listeners` has been measured (packages/plugin-envoy/README.md). */
const NEWEST_MEASURED = '1.40';

/**
 * The release in `/server_info`'s `version`, `<commit>/<major.minor.patch>/<Clean|Modified>/<RELEASE|DEBUG>/<ssl>`
 * (PyPI's 1.38.3 says Modified); undefined for anything else.
 */
export function parseEnvoyVersion(version: string): EnvoyRelease | undefined {
  const match = /^[^/\s]+\/(\d+)\.(\d+)\.(\d+)(?:[-.][\w.-]*)?\//.exec(version);
  return match ? { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) } : undefined;
}

const releaseName = ({ major, minor, patch }: EnvoyRelease): string => `${major}.${minor}.${patch}`;

const atLeast = (release: EnvoyRelease, major: number, minor: number): boolean =>
  release.major > major || (release.major === major && release.minor >= minor);

/**
 * The `/drain_listeners` call that does what ENVOY_DRAIN_LISTENERS asks on this release: drain the
 * listeners (every one, or the inbound ones) without ever closing them, so callers that have not yet
 * noticed and the app's own outbound calls keep connecting until the helper's DRAIN_TIMEOUT ends.
 *
 * `graceful&skip_exit` does exactly that on every release measured (1.36.4 to 1.40.0): drains at
 * once, never stops accepting. The bare call and `skip_exit` alone changed in 1.40 (envoy#47042:
 * before, the bare call stops the listeners without draining anything, and `skip_exit` without
 * `graceful` is a 400), so neither is used. Before 1.34 (envoy#37873), `graceful` drains every
 * listener whatever `inboundonly` says (envoy#35020): no call drains only the inbound ones, so the
 * same call goes out (the inbound listeners must drain; the outbound ones keep accepting, their
 * answers now saying `Connection: close`) with a warning. Unknown (undefined): the newest behaviour.
 */
export function drainListenersCall(
  mode: DrainListenersMode,
  release: EnvoyRelease | undefined,
): { path: string; warning?: string } {
  const path = `/drain_listeners?graceful&skip_exit${mode === 'inbound' ? '&inboundonly' : ''}`;
  if (mode === 'inbound' && release && !atLeast(release, 1, 34))
    return {
      path,
      warning: `ENVOY_DRAIN_LISTENERS=inbound: Envoy ${releaseName(release)} drains its outbound listeners too (it ignores inboundonly with graceful before 1.34, envoy#35020), so the app's outbound calls through Envoy get Connection: close during the drain; upgrade Envoy to 1.34 or later (on this one, ENVOY_DRAIN_LISTENERS=all does the same without this warning)`,
    };
  return { path };
}

/**
 * The first bytes of `/server_info` hold `version` (Envoy writes it first): the admin client's
 * plain-socket probe reads at most 8 KB of the answer, and a whole `/server_info` is over 100 KB
 * (1.40 lists every extension it was built with), so the field is found in the text, not parsed.
 */
const VERSION_FIELD = /^\s*\{\s*"version"\s*:\s*"([^"]{1,200})"/;

/**
 * Reads Envoy's release from `/server_info` (one attempt, bounded by the probe's second and the
 * tap's abortSignal) and says, in one line, which `/drain_listeners` call the drain will send;
 * anything unreadable is logged once as a warning, and the drain then assumes the newest behaviour.
 */
export async function readEnvoyRelease(
  admin: AdminClient,
  ctx: HookContext,
  mode: DrainListenersMode,
): Promise<EnvoyRelease | undefined> {
  let problem: string;
  try {
    const { status, body } = await admin.probe('/server_info', ctx);
    const version = VERSION_FIELD.exec(body)?.[1];
    const release = version === undefined ? undefined : parseEnvoyVersion(version);
    if (status === 200 && release) {
      const { path, warning } = drainListenersCall(mode, release);
      if (warning) ctx.logger.warn({ envoyVersion: version, path }, warning);
      else ctx.logger.info({ envoyVersion: version, path }, 'envoy version read');
      return release;
    }
    problem =
      status !== 200
        ? `HTTP ${status}`
        : `no version in the answer (${JSON.stringify(version ?? body.slice(0, 60).trim())})`;
  } catch (error) {
    problem = errorText(error);
  }
  ctx.logger.warn(
    { path: drainListenersCall(mode, undefined).path, error: problem },
    `envoy version unreadable from /server_info: ENVOY_DRAIN_LISTENERS=${mode} will send what Envoy ${NEWEST_MEASURED} needs`,
  );
  return undefined;
}
