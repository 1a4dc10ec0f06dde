import { startEnvoySim, startToyApp, type EnvoySim, type EnvoySimOptions, type ToyApp } from '@task-helper/envoy-sim';

export interface Stack {
  app: ToyApp;
  envoy: EnvoySim;
  /** The environment an ECS task would give the helper to reach this app and Envoy. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** One task's app and Envoy (simulated) on loopback. */
export async function startStack(options: EnvoySimOptions = {}): Promise<Stack> {
  const app = await startToyApp();
  const envoy = await startEnvoySim({ upstream: app.url, ...options });
  return {
    app,
    envoy,
    env: { ENVOY_ADMIN_URL: envoy.adminUrl, PORT: String(app.port) },
    close: async () => {
      await envoy.close();
      await app.close();
    },
  };
}
