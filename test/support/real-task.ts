import { startToyApp, type ToyApp } from '@task-helper/envoy-sim';
import type { ScenarioTask } from './drain-scenario.ts';
import { startExampleEnvoy, type EnvoyProcess } from './real-envoy.ts';

export interface RealTask extends ScenarioTask {
  app: ToyApp;
  envoy: EnvoyProcess;
}

/**
 * One task on real Envoy: the toy app behind examples/envoy/envoy.yaml (ports substituted) with
 * the example Dockerfile's flags; `envoyArgs` override flags of the same name. One worker thread
 * each, so two tasks, HAProxy and the load fit a small shared machine.
 */
export async function startRealTask({ envoyArgs = [] }: { envoyArgs?: string[] } = {}): Promise<RealTask> {
  const app = await startToyApp();
  let envoy: EnvoyProcess;
  try {
    envoy = await startExampleEnvoy(app.port, { args: ['--concurrency', '1', ...envoyArgs] });
  } catch (error) {
    await app.close();
    throw error;
  }
  const ingress = envoy.listeners.ingress;
  if (!ingress)
    throw new Error(
      `examples/envoy/envoy.yaml has no listener named ingress (got ${Object.keys(envoy.listeners).join(', ')})`,
    );
  return {
    app,
    envoy,
    listenerUrl: ingress,
    env: { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port) },
    close: async () => {
      await envoy.close();
      await app.close();
    },
  };
}
