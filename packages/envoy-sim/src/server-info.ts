import type { ServerState } from './state.ts';
import type { StatSet } from './types.ts';

/** Shaped like a real build's `<commit>/<version>/<Clean|Modified>/<RELEASE|DEBUG>/<ssl>`; the commits are made up. */
const ENVOY_VERSIONS: Record<StatSet, string> = {
  '1.40': '5c1a3e1e1ba8d1b4a7c4b5f0e8d0f1c2a3b4c5d6/1.40.0/Clean/RELEASE/BoringSSL',
  '1.29': '0e7a3b1f2c4d5e6f708192a3b4c5d6e7f8091a2b/1.29.12/Clean/RELEASE/BoringSSL',
};

/** Protobuf JSON renders Envoy's whole-second uptimes as e.g. "12s". */
function duration(seconds: number): string {
  return `${seconds}s`;
}

/** /server_info, trimmed to the fields a client may look at. Envoy pretty-prints with one space. */
export function serverInfo(state: ServerState, drainTimeS: number, statSet: StatSet): string {
  const uptime = duration(state.uptimeSeconds());
  const info = {
    version: ENVOY_VERSIONS[statSet],
    state: state.name(),
    hot_restart_version: 'disabled',
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
