import { once } from 'node:events';
import { startEnvoySim, startToyApp, type StatSet } from '@task-helper/envoy-sim';
import { hasRealEnvoy } from '../support/envoy-binary.ts';
import { startRealEnvoy } from '../support/real-envoy.ts';

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

/** Every target runs the same assertions; the real one only where `make setup` installed Envoy. */
export const targets: TargetKind[] = [
  {
    name: 'real Envoy 1.40',
    available: hasRealEnvoy(),
    async start({ healthPath } = {}) {
      const app = await startToyApp({ healthPath });
      const envoy = await startRealEnvoy({ upstreamPort: app.port, healthPath, passThrough: true }).catch(
        async (error: unknown) => {
          await app.close();
          throw error;
        },
      );
      return {
        ...envoy,
        statSet: '1.40',
        quit: envoy.exited.then(({ code }) => code),
        close: async () => {
          await envoy.close();
          await app.close();
        },
      };
    },
  },
  ...(['1.40', '1.29'] as const).map(
    (statSet): TargetKind => ({
      name: `envoy-sim, ${statSet} stat set`,
      available: true,
      async start({ healthPath } = {}) {
        const app = await startToyApp({ healthPath });
        const sim = await startEnvoySim({ upstream: app.url, healthPath, statSet });
        return {
          adminUrl: sim.adminUrl,
          listenerUrl: sim.listenerUrl,
          statPrefix: 'ingress',
          statSet,
          quit: once(sim, 'quit').then(() => 0),
          close: async () => {
            await sim.close();
            await app.close();
          },
        };
      },
    }),
  ),
];
