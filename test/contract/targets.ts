import { once } from 'node:events';
import type { StatSet } from '@task-helper/envoy-sim';
import { envoyRelease } from '../support/envoy-binary.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';
import { startTask } from '../support/task.ts';

/** One Envoy for the contract suite, the real binary or the simulator, in front of a toy app. */
export interface Target {
  adminUrl: string;
  listenerUrl: string;
  statPrefix: string;
  statSet: StatSet;
  /** A regular expression for the release `/server_info` must name: the binary's own (`ENVOY_BIN` picks it), or any of the simulator's stat set. */
  releasePattern: string;
  /** The bare `/drain_listeners` drains connections and `skip_exit` alone is accepted (envoy#47042, 1.40). */
  drainsWithoutGraceful: boolean;
  /** Resolves once Envoy has gone after /quitquitquit, with its exit code (0 for the sim). */
  quit: Promise<number | null>;
  close(): Promise<void>;
}

export interface TargetOptions {
  healthPath?: string;
}

export interface TargetKind {
  name: string;
  available: boolean;
  start(options?: TargetOptions): Promise<Target>;
}

const envoyMissing = realEnvoyMissing();
if (envoyMissing) console.warn(`skipping the contract on real Envoy: ${envoyMissing}`);

/** Every target runs the same assertions; the real one only where `make setup` installed Envoy (always under CI=true). */
export const targets: TargetKind[] = [
  {
    name: `real Envoy ${envoyRelease()}`,
    available: !envoyMissing,
    async start({ healthPath } = {}) {
      // immediate: the simulator drain-closes every connection at once, as this strategy does.
      const task = await startTask({
        envoy: 'bare',
        envoyArgs: ['--drain-strategy', 'immediate'],
        ...(healthPath ? { healthPath } : {}),
      });
      return {
        ...task,
        statSet: '1.40',
        releasePattern: envoyRelease().replaceAll('.', '\\.'),
        drainsWithoutGraceful: Number(envoyRelease().split('.')[1]) >= 40,
        quit: task.envoy.exited.then(({ code }) => code),
      };
    },
  },
  ...(['1.40', '1.29'] as const).map(
    (statSet): TargetKind => ({
      name: `envoy-sim, ${statSet} stat set`,
      available: true,
      async start({ healthPath } = {}) {
        const task = await startTask({ statSet, ...(healthPath ? { healthPath } : {}) });
        return {
          ...task,
          statSet,
          releasePattern: `${statSet.replace('.', '\\.')}\\.\\d+`,
          drainsWithoutGraceful: statSet === '1.40',
          quit: once(task.envoy, 'quit').then(() => 0),
        };
      },
    }),
  ),
];
