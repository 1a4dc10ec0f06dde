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
import { hasNoShell, SHELL_LESS_HELPER } from '../support/k8s-images.ts';
import { containerLog, recordTimeline, type Timeline } from '../support/k8s-timeline.ts';
import { failureCount, startLoad, summarizeLoad } from '../support/load.ts';
import { pollUntil } from '../support/poll.ts';
import { realEnvoyMissing } from '../support/real-envoy.ts';

/**
 * examples/kubernetes/sidecar.yaml, applied unchanged on the real node (scripts/k8s-node.sh): two
 * replicas of app + Envoy + helper behind a caller Envoy with active health checks, fed by EDS from
 * the Service's EndpointSlices, under steady load. A deleted pod and a rolling update must cost the
 * callers nothing, in the order the manifest promises: the app's preStop (held by the helper while
 * it drains), SIGTERM to the app, then the sidecars in reverse order, nothing SIGKILLed.
 */

const skip = k8sMissing() ?? dockerMissing() ?? realEnvoyMissing();
const MANIFEST = 'sidecar.yaml';
const SELECTOR = 'app.kubernetes.io/name=orders';
/** plugin-envoy's line for its POST /healthcheck/fail. */
const HEALTH_FAILED = 'envoy health check failed: callers will stop routing here';

const deployment = manifestDocs(MANIFEST).find((d) => d.kind === 'Deployment')!;
const helperEnv = (name: string): string =>
  (deployment.spec.template.spec.initContainers as KubeObject[])
    .find((c) => c.name === 'task-helper')!
    .env.find((e: KubeObject) => e.name === name).value;
const DRAIN_DELAY_MS = Number(helperEnv('DRAIN_DELAY')) * 1000;
const GRACE_S = deployment.spec.template.spec.terminationGracePeriodSeconds as number;
const INGRESS_PORT = (deployment.spec.template.spec.initContainers as KubeObject[])
  .find((c) => c.name === 'envoy')!
  .ports.find((p: KubeObject) => p.name === 'ingress').containerPort as number;

describe.skipIf(skip)('examples/kubernetes/sidecar.yaml on a real kubelet', () => {
  let api: KubeApi;
  let namespace: string;
  let caller: CallerEnvoy;
  let timeline: Timeline;

  beforeAll(async () => {
    api = new KubeApi();
    namespace = await createNamespace(api, 'sidecar');
    timeline = await recordTimeline(api, namespace);
    await api.applyFile(manifestPath(MANIFEST), namespace);
    await rolledOut(api, namespace, 'orders', 180_000);
    caller = await startCaller(api, { namespace, service: 'orders', port: INGRESS_PORT, healthPath: '/ping/ping' });
    await caller.waitForHealthy(2, 60_000);
  });

  afterAll(async () => {
    await caller?.close();
    timeline?.stop();
    if (namespace) await deleteNamespace(api, namespace);
    api?.close();
  });

  it('a deleted pod drains with zero failed requests: preStop held by the helper, then SIGTERM, sidecars last', async () => {
    const load = startLoad('http://orders', { socketPath: caller.socketPath });
    await load.waitFor((s) => s.ok >= 100, 30_000, 'load through the caller Envoy');
    const [victim] = await podsOf(api, namespace, SELECTOR);
    const pod = victim!.metadata.name as string;
    const address = victim!.status.podIP as string;
    const deletedAt = Date.now();
    await api.delete(`/api/v1/namespaces/${namespace}/pods/${pod}`);
    // The helper's own line for its POST /healthcheck/fail, read while the pod still exists.
    const fail = await pollUntil(
      `${pod}: the helper's health check fail`,
      async () => containerLog(namespace, pod, 'task-helper').find((l) => l.json?.msg === HEALTH_FAILED),
      { timeoutMs: GRACE_S * 1000, intervalMs: 100 },
    );
    const goneAt = await gone(api, namespace, pod, (GRACE_S + 30) * 1000);
    await rolledOut(api, namespace, 'orders', 120_000);
    await caller.waitForHealthy(2, 30_000);
    const stats = await load.stop();
    const steps = timeline.describe(pod);
    console.log(`deleted ${pod}: gone after ${goneAt - deletedAt} ms; ${summarizeLoad(stats)}\n${steps}`);
    const rel = (at: number) => at - deletedAt;
    console.log(
      `failures ${stats.failures.length ? `${rel(stats.failures[0]!.startedAt)}..${rel(stats.failures.at(-1)!.startedAt)} ms` : 'none'}; health ${JSON.stringify(caller.health.map((h) => ({ ...h, at: rel(h.at) })))}; eds ${JSON.stringify(caller.published.map((p) => ({ ...p, at: rel(p.at) })))}`,
    );

    expect(failureCount(stats), `${summarizeLoad(stats)}\n${JSON.stringify(stats.failures.slice(0, 5))}`).toBe(0);

    // The EndpointSlice entry turns not-ready while the hooks run (issue 21 item 3's number).
    const notReady = caller.changes.find((c) => c.address === address && !c.ready && c.at >= deletedAt);
    expect(notReady, JSON.stringify(caller.changes)).toBeDefined();
    const leftAt = caller.health.find((h) => h.address === address && !h.healthy && h.at >= deletedAt)?.at;
    expect(leftAt, JSON.stringify(caller.health)).toBeDefined();
    // Callers stop routing here only after the fail, and the fail comes after DRAIN_DELAY.
    expect(leftAt!).toBeGreaterThanOrEqual(fail.at);
    expect(fail.at - deletedAt).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    console.log(
      `measured (issue 21 item 3): delete → EndpointSlice ${address} ready=false ${notReady!.at - deletedAt} ms (terminating: ${notReady!.terminating}, serving: ${notReady!.serving}); ` +
        `delete → helper's /healthcheck/fail ${fail.at - deletedAt} ms; fail → caller Envoy's check marks it unhealthy ${leftAt! - fail.at} ms`,
    );

    const at = (container: string, kind: Parameters<Timeline['step']>[2]) => {
      const step = timeline.step(pod, container, kind);
      expect(step, `${container} ${kind}:\n${steps}`).toBeDefined();
      return step!;
    };
    // The app: its preStop is held open for the drain (at least DRAIN_DELAY), SIGTERM only after.
    const preStop = at('app', 'preStop');
    const preStopDone = at('app', 'preStopDone');
    expect(preStopDone.at - preStop.at, steps).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    expect(at('app', 'sigterm').at, steps).toBeGreaterThanOrEqual(preStopDone.at);
    // Then the sidecars, in reverse order of start: the helper, then Envoy; nothing killed.
    expect(at('task-helper', 'sigterm').at, steps).toBeGreaterThanOrEqual(at('app', 'stopped').at);
    expect(at('envoy', 'sigterm').at, steps).toBeGreaterThanOrEqual(at('task-helper', 'stopped').at);
    for (const container of ['app', 'task-helper', 'envoy'])
      expect(at(container, 'exited').killed, `${container} SIGKILLed:\n${steps}`).toBe(false);
    expect(timeline.step(pod, 'app', 'preStopTimedOut'), steps).toBeUndefined();
  });

  it('a rolling update replaces both pods with zero failed requests', async () => {
    const before = new Set((await podsOf(api, namespace, SELECTOR)).map((p) => p.metadata.name as string));
    const load = startLoad('http://orders', { socketPath: caller.socketPath });
    await load.waitFor((s) => s.ok >= 100, 30_000, 'load through the caller Envoy');
    // What `kubectl rollout restart` does: a new template annotation.
    await api.call(
      'PATCH',
      `/apis/apps/v1/namespaces/${namespace}/deployments/orders`,
      {
        spec: { template: { metadata: { annotations: { 'task-helper.test/restartedAt': new Date().toISOString() } } } },
      },
      { contentType: 'application/merge-patch+json' },
    );
    const after = await rolledOut(api, namespace, 'orders', 300_000);
    await caller.waitForHealthy(2, 30_000);
    const stats = await load.stop();
    console.log(`rolling update: ${summarizeLoad(stats)}`);
    expect(after.some((p) => before.has(p.metadata.name))).toBe(false);
    expect(failureCount(stats), `${summarizeLoad(stats)}\n${JSON.stringify(stats.failures.slice(0, 5))}`).toBe(0);
    for (const pod of before)
      for (const container of ['app', 'task-helper', 'envoy'])
        expect(timeline.step(pod, container, 'exited')?.killed, `${pod} ${container}:\n${timeline.describe(pod)}`).toBe(
          false,
        );
  });

  it("a grace period too short for the waits still fails Envoy's health check before the pod is killed", async () => {
    // The manifest's pairing kept (terminationGracePeriodSeconds = STOP_TIMEOUT), both cut below DRAIN_DELAY + DRAIN_TIMEOUT.
    const shortS = Math.floor((Number(helperEnv('DRAIN_DELAY')) + Number(helperEnv('DRAIN_TIMEOUT'))) / 2);
    const short = structuredClone(deployment);
    short.spec.template.spec.terminationGracePeriodSeconds = shortS;
    for (const c of short.spec.template.spec.initContainers as KubeObject[])
      if (c.name === 'task-helper')
        for (const e of c.env as KubeObject[]) if (e.name === 'STOP_TIMEOUT') e.value = String(shortS);
    await api.apply(short, namespace);
    const pods = await rolledOut(api, namespace, 'orders', 300_000);
    await caller.waitForHealthy(2, 30_000);

    const load = startLoad('http://orders', { socketPath: caller.socketPath });
    await load.waitFor((s) => s.ok >= 100, 30_000, 'load through the caller Envoy');
    const pod = pods[0]!.metadata.name as string;
    const address = pods[0]!.status.podIP as string;
    const deletedAt = Date.now();
    await api.delete(`/api/v1/namespaces/${namespace}/pods/${pod}`);
    await gone(api, namespace, pod, (shortS + 30) * 1000);
    await rolledOut(api, namespace, 'orders', 120_000);
    const stats = await load.stop();
    const steps = timeline.describe(pod);
    const failedAt = caller.health.find((h) => h.address === address && !h.healthy && h.at >= deletedAt)?.at;
    console.log(
      `grace ${shortS} s: the caller saw ${address} fail its health check ${failedAt === undefined ? 'never' : `${failedAt - deletedAt} ms`} after the delete; ${summarizeLoad(stats)}\n${steps}`,
    );
    expect(failedAt, `${JSON.stringify(caller.health)}\n${steps}`).toBeDefined();
    // Before the grace period's end, and while the pod's Envoy still answered its health checks.
    expect(failedAt! - deletedAt).toBeLessThan(shortS * 1000);
    const envoyExited = timeline.step(pod, 'envoy', 'exited');
    expect(envoyExited, steps).toBeDefined();
    expect(failedAt!, steps).toBeLessThan(envoyExited!.at);
    for (const container of ['app', 'task-helper', 'envoy'])
      expect(timeline.step(pod, container, 'exited')?.killed, `${container} SIGKILLed:\n${steps}`).toBe(false);
  });

  it('the helper image without a shell drains the same way', async () => {
    expect(await hasNoShell(SHELL_LESS_HELPER)).toBe(true);
    // The manifest as a team with a distroless image runs it: only the helper's image differs.
    const shellLess = structuredClone(deployment);
    for (const c of shellLess.spec.template.spec.initContainers as KubeObject[])
      if (c.name === 'task-helper') c.image = SHELL_LESS_HELPER;
    await api.apply(shellLess, namespace);
    const pods = await rolledOut(api, namespace, 'orders', 300_000);
    for (const pod of pods)
      expect((pod.spec.initContainers as KubeObject[]).find((c) => c.name === 'task-helper')!.image).toBe(
        SHELL_LESS_HELPER,
      );
    await caller.waitForHealthy(2, 30_000);

    const load = startLoad('http://orders', { socketPath: caller.socketPath });
    await load.waitFor((s) => s.ok >= 100, 30_000, 'load through the caller Envoy');
    const pod = pods[0]!.metadata.name as string;
    await api.delete(`/api/v1/namespaces/${namespace}/pods/${pod}`);
    await gone(api, namespace, pod, (GRACE_S + 30) * 1000);
    await rolledOut(api, namespace, 'orders', 120_000);
    await caller.waitForHealthy(2, 30_000);
    const stats = await load.stop();
    const steps = timeline.describe(pod);
    console.log(`shell-less helper, deleted ${pod}: ${summarizeLoad(stats)}\n${steps}`);
    expect(failureCount(stats), summarizeLoad(stats)).toBe(0);
    const preStop = timeline.step(pod, 'app', 'preStop');
    const preStopDone = timeline.step(pod, 'app', 'preStopDone');
    expect(preStopDone!.at - preStop!.at, steps).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
  });
});
