import type { ServerState } from './state.ts';

/** Shaped like a real build's `<version>/<commit>/<Clean|Modified>/<RELEASE|DEBUG>/<ssl>`; the commit is made up. */
export const ENVOY_VERSION = '1.34.1/5c1a3e1e1ba8d1b4a7c4b5f0e8d0f1c2a3b4c5d6/Clean/RELEASE/BoringSSL';

/** Protobuf JSON renders Envoy's whole-second uptimes as e.g. "12s". */
function duration(seconds: number): string {
  return `${seconds}s`;
}

/** /server_info, trimmed to the fields a client may look at. Envoy pretty-prints with one space. */
export function serverInfo(state: ServerState, drainTimeS: number): string {
  const uptime = duration(state.uptimeSeconds());
  const info = {
    version: ENVOY_VERSION,
    state: state.name(),
    hot_restart_version: '11.104',
    command_line_options: {
      restart_epoch: 0,
      drain_time: duration(drainTimeS),
      drain_strategy: 'Immediate',
      parent_shutdown_time: '900s',
      mode: 'Serve',
    },
    node: { id: 'envoy-sim', cluster: 'envoy-sim' },
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
  };
  return JSON.stringify(info, null, 1);
}
