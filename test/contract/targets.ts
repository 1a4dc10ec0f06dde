import { once } from 'node:events';
import type { StatSet } from '@task-helper/envoy-sim';
import { realEnvoyMissing } from '../support/real-envoy.ts';
import { startTask } from '../support/task.ts';

/** One Envoy for the contract suite, the real binary or the simulator, in front of a toy app. */
export interface Target {
  adminUrl: string;
  listenerUrl: string;
  statPrefix: string;
  statSet: StatSet;
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
    name: 'real Envoy 1.40',
    available: !envoyMissing,
    async start({ healthPath } = {}) {
      const task = await startTask({ envoy: 'bare', ...(healthPath ? { healthPath } : {}) });
      return { ...task, statSet: '1.40', quit: task.envoy.exited.then(({ code }) => code) };
    },
  },
  ...(['1.40', '1.29'] as const).map(
    (statSet): TargetKind => ({
      name: `envoy-sim, ${statSet} stat set`,
      available: true,
      async start({ healthPath } = {}) {
        const task = await startTask({ statSet, ...(healthPath ? { healthPath } : {}) });
        return { ...task, statSet, quit: once(task.envoy, 'quit').then(() => 0) };
      },
    }),
  ),
];
