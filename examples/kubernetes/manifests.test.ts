import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { readCoreSettings, stopBudgetMs, stopSchedule } from '@task-helper/core/host';
import { container, loadTaskDefinition } from '../ecs/task-definition.ts';
import { GATEWAY_MANIFEST, loadManifest, SIDECAR_MANIFEST, type Container, type Manifest } from './manifests.ts';

// What the Kubernetes tests apply unchanged: the facts the helper's settings, the kubelet and the
// images rely on. The task definition names the images test/support/docker-images.ts tags.
const task = loadTaskDefinition();
const images = {
  helper: container(task, 'task-helper').image,
  envoy: container(task, 'envoy').image,
  app: container(task, 'app').image,
};

const shapes = [
  { file: SIDECAR_MANIFEST, name: 'sidecar', held: 'app', envoy: 'envoy', serving: 15000 },
  { file: GATEWAY_MANIFEST, name: 'gateway', held: 'envoy', envoy: 'envoy', serving: 8000 },
] as const;

/** Every `exec` in a probe or hook, and every command that names a shell. */
function shellUses(c: Container): string[] {
  const found: string[] = [];
  for (const [where, handler] of Object.entries({
    preStop: c.lifecycle?.preStop,
    startupProbe: c.startupProbe,
    readinessProbe: c.readinessProbe,
    livenessProbe: c.livenessProbe,
  }))
    if (handler && 'exec' in handler) found.push(`${c.name} ${where} exec`);
  for (const word of [...(c.command ?? []), ...(c.args ?? [])])
    if (/(^|\/)(ba|da|a)?sh$/.test(word)) found.push(`${c.name} runs ${word}`);
  return found;
}

describe.each(shapes)('examples/kubernetes/$name.yaml', ({ file, held, envoy, serving }) => {
  const m: Manifest = loadManifest(file);
  const helper = m.container('task-helper');
  const env = m.env('task-helper');

  it("runs the helper as a native sidecar (an init container that restarts) with the image's own entrypoint", () => {
    expect(m.pod.initContainers?.map((c) => c.name)).toContain('task-helper');
    expect(helper.restartPolicy).toBe('Always');
    expect(helper.image).toBe(images.helper);
    expect(helper.command).toBeUndefined();
    expect(helper.args).toEqual(['run']);
  });

  it("holds the container in front of callers with a preStop httpGet to the helper's GET /prestop, on the pod's IP", () => {
    expect(m.container(held).lifecycle?.preStop).toEqual({
      httpGet: { path: '/prestop', port: Number(env.PRESTOP_PORT) },
    });
    expect(env.PRESTOP_HOST).toBe('$(POD_IP)');
    const podIp = helper.env?.findIndex((e) => e.name === 'POD_IP') ?? -1;
    // Kubernetes expands $(VAR) only from variables defined before it.
    expect(podIp).toBeGreaterThanOrEqual(0);
    expect(podIp).toBeLessThan(helper.env!.findIndex((e) => e.name === 'PRESTOP_HOST'));
    expect(helper.env![podIp]!.valueFrom).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
  });

  it('says the grace period again in STOP_TIMEOUT, and the waits fit it', () => {
    expect(m.pod.terminationGracePeriodSeconds).toBeDefined();
    expect(Number(env.STOP_TIMEOUT)).toBe(m.pod.terminationGracePeriodSeconds);
    const core = readCoreSettings({}, { ...env, PRESTOP_HOST: '10.1.2.3' });
    expect(core.preStop).toEqual({ host: '10.1.2.3', port: Number(env.PRESTOP_PORT) });
    const schedule = stopSchedule({
      stopTimeoutMs: stopBudgetMs(core.stopTimeout, 'preStop', true),
      delayMs: Number(env.DRAIN_DELAY) * 1000,
      drainWaitMs: Number(env.DRAIN_TIMEOUT) * 1000,
    });
    expect(schedule.cut).toBe(false);
  });

  it('needs no shell anywhere: no exec probe or hook, no sh -c', () => {
    expect([...(m.pod.initContainers ?? []), ...m.pod.containers].flatMap(shellUses)).toEqual([]);
  });

  it('uses the images the tests build, never pulled when present (a node with no registry)', () => {
    const all = [...(m.pod.initContainers ?? []), ...m.pod.containers];
    expect(m.container(envoy).image).toBe(images.envoy);
    for (const c of all) {
      expect(Object.values(images)).toContain(c.image);
      expect(c.imagePullPolicy).toBe('IfNotPresent');
    }
  });

  it("lets other pods reach Envoy's serving port only, never the helper's", () => {
    const port = m.container(envoy).ports?.find((p) => p.containerPort === serving);
    expect(port).toBeDefined();
    const policy = m.documents.find((d) => d.kind === 'NetworkPolicy')?.spec as {
      ingress: Array<{ ports: Array<{ port: number }> }>;
    };
    expect(policy.ingress.flatMap((rule) => rule.ports.map((p) => p.port))).toEqual([serving]);
    const service = m.documents.find((d) => d.kind === 'Service')?.spec as { ports: Array<{ targetPort: string }> };
    expect(service.ports.map((p) => p.targetPort)).toEqual([port!.name]);
  });

  it('mounts no service account token: nothing in the pod reads the Kubernetes API', () => {
    expect((m.pod as { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(false);
  });
});

describe('the sidecar shape', () => {
  const m = loadManifest(SIDECAR_MANIFEST);
  it('starts Envoy before the helper, so the kubelet stops the helper before Envoy', () => {
    expect(m.pod.initContainers?.map((c) => c.name)).toEqual(['envoy', 'task-helper']);
    expect(m.container('envoy').restartPolicy).toBe('Always');
  });

  it('checks the app the Envoy example routes to (examples/envoy/envoy.yaml: 127.0.0.1:8080, /ping/ping)', () => {
    expect(m.env('task-helper')).toMatchObject({ PORT: '8080', HEALTHCHECK_PATH: '/ping/ping' });
    expect(m.container('envoy').readinessProbe).toMatchObject({ httpGet: { path: '/ping/ping', port: 'ingress' } });
  });
});

describe('the gateway shape', () => {
  const m = loadManifest(GATEWAY_MANIFEST);
  const bootstrap = load(m.documents.find((d) => d.kind === 'ConfigMap')!.data!['envoy.yaml']!) as {
    admin: { address: { socket_address: { address: string; port_value: number } } };
    static_resources: { listeners: Array<{ address: { socket_address: { port_value: number } } }> };
  };

  it("has no app to check, and the helper reaches the bootstrap's admin API on loopback", () => {
    expect(m.env('task-helper')).toMatchObject({ APP_CHECK: 'false', ENVOY_ADMIN_URL: 'http://127.0.0.1:9901' });
    expect(bootstrap.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9901 });
  });

  it('serves on the port the container, its probe and its Service name', () => {
    expect(bootstrap.static_resources.listeners.map((l) => l.address.socket_address.port_value)).toEqual([8000]);
    expect(m.container('envoy').readinessProbe).toMatchObject({ httpGet: { path: '/ping/ping', port: 'gateway' } });
  });
});
