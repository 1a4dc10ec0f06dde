import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerMissing } from '../support/docker.ts';
import { KubeApi, type KubeObject, k8sMissing } from '../support/k8s.ts';
import { type CallerEnvoy, startCaller } from '../support/k8s-caller.ts';
import {
  createNamespace,
  deleteNamespace,
  gone,
  manifestDocs,
  manifestPath,
  podsOf,
  rolledOut,
} from '../support/k8s-deployment.ts';
import { recordTimeline, type Timeline } from '../support/k8s-timeline.ts';
import { failureCount, startLoad, summarizeLoad } from '../support/load.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';

/**
 * examples/kubernetes/gateway.yaml, applied unchanged beside sidecar.yaml (the `orders` Service
 * it routes to) on the real node: a caller Envoy with active health checks in front of the two
 * gateway pods, under load. Deleting a gateway pod must cost the callers nothing: Envoy's preStop
 * is held by the helper while it fails the gateway's health check and callers leave, and only then
 * does Envoy get SIGTERM, the helper (its native sidecar) after it.
 */

const skip = k8sMissing() ?? dockerMissing() ?? realEnvoyMissing();
const SELECTOR = 'app.kubernetes.io/name=gateway';

const deployment = manifestDocs('gateway.yaml').find((d) => d.kind === 'Deployment')!;
const helperEnv = (name: string): string =>
  (deployment.spec.template.spec.initContainers as KubeObject[])
    .find((c) => c.name === 'task-helper')!
    .env.find((e: KubeObject) => e.name === name).value;
const DRAIN_DELAY_MS = Number(helperEnv('DRAIN_DELAY')) * 1000;
const GRACE_S = deployment.spec.template.spec.terminationGracePeriodSeconds as number;
const GATEWAY_PORT = (deployment.spec.template.spec.containers as KubeObject[])
  .find((c) => c.name === 'envoy')!
  .ports.find((p: KubeObject) => p.name === 'gateway').containerPort as number;

describe.skipIf(skip)('examples/kubernetes/gateway.yaml on a real kubelet', () => {
  let api: KubeApi;
  let namespace: string;
  let caller: CallerEnvoy;
  let timeline: Timeline;

  beforeAll(async () => {
    api = new KubeApi();
    namespace = await createNamespace(api, 'gateway');
    timeline = await recordTimeline(api, namespace);
    await api.applyFile(manifestPath('sidecar.yaml'), namespace);
    await api.applyFile(manifestPath('gateway.yaml'), namespace);
    await rolledOut(api, namespace, 'orders', 240_000);
    await rolledOut(api, namespace, 'gateway', 240_000);
    caller = await startCaller(api, { namespace, service: 'gateway', port: GATEWAY_PORT, healthPath: '/ping/ping' });
    await caller.waitForHealthy(2, 60_000);
  });

  afterAll(async () => {
    await caller?.close();
    timeline?.stop();
    if (namespace) await deleteNamespace(api, namespace);
    api?.close();
  });

  it("a deleted gateway pod drains with zero failed requests: Envoy's preStop held by the helper, then SIGTERM", async () => {
    const load = startLoad('http://gateway', { socketPath: caller.socketPath });
    await load.waitFor((s) => s.ok >= 100, 60_000, 'load through the caller Envoy and the gateway');
    const [victim] = await podsOf(api, namespace, SELECTOR);
    const pod = victim!.metadata.name as string;
    const address = victim!.status.podIP as string;
    const deletedAt = Date.now();
    await api.delete(`/api/v1/namespaces/${namespace}/pods/${pod}`);
    await gone(api, namespace, pod, (GRACE_S + 30) * 1000);
    await rolledOut(api, namespace, 'gateway', 120_000);
    await caller.waitForHealthy(2, 30_000);
    const stats = await load.stop();
    const steps = timeline.describe(pod);
    const notReady = caller.changes.find((c) => c.address === address && !c.ready && c.at >= deletedAt);
    const failedAt = caller.health.find((h) => h.address === address && !h.healthy && h.at >= deletedAt)?.at;
    console.log(
      `deleted gateway ${pod}: EndpointSlice not ready after ${notReady ? notReady.at - deletedAt : '?'} ms, caller's health check failed after ${failedAt ? failedAt - deletedAt : '?'} ms; ${summarizeLoad(stats)}\n${steps}`,
    );

    expect(failureCount(stats), `${summarizeLoad(stats)}\n${JSON.stringify(stats.failures.slice(0, 5))}`).toBe(0);
    const at = (container: string, kind: Parameters<Timeline['step']>[2]) => {
      const step = timeline.step(pod, container, kind);
      expect(step, `${container} ${kind}:\n${steps}`).toBeDefined();
      return step!;
    };
    const preStop = at('envoy', 'preStop');
    const preStopDone = at('envoy', 'preStopDone');
    expect(preStopDone.at - preStop.at, steps).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    expect(at('envoy', 'sigterm').at, steps).toBeGreaterThanOrEqual(preStopDone.at);
    // The caller left before Envoy was told to stop.
    expect(failedAt, JSON.stringify(caller.health)).toBeDefined();
    expect(failedAt!, steps).toBeLessThan(at('envoy', 'sigterm').at);
    expect(at('task-helper', 'sigterm').at, steps).toBeGreaterThanOrEqual(at('envoy', 'stopped').at);
    for (const container of ['envoy', 'task-helper'])
      expect(at(container, 'exited').killed, `${container} SIGKILLed:\n${steps}`).toBe(false);
  });
});
