import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';

/** The two shapes, as the tests apply them. */
export const SIDECAR_MANIFEST = path.join(import.meta.dirname, 'sidecar.yaml');
export const GATEWAY_MANIFEST = path.join(import.meta.dirname, 'gateway.yaml');

/** The few fields of a pod's container these examples check, as the Kubernetes API spells them. */
export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  restartPolicy?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  lifecycle?: { preStop?: Record<string, unknown> };
  startupProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
}

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  initContainers?: Container[];
  containers: Container[];
}

/** A manifest's documents, each with its `kind`. */
export interface Manifest {
  documents: Array<{ kind: string; metadata: { name: string }; spec?: unknown; data?: Record<string, string> }>;
  /** The Deployment's pod template. */
  pod: PodSpec;
  /** Every container of the pod, init (sidecars) first, by name. */
  container(name: string): Container;
  /** The container's environment as written (`$(POD_IP)` unexpanded). */
  env(name: string): Record<string, string>;
}

export function loadManifest(file: string): Manifest {
  const documents = loadAll(readFileSync(file, 'utf8')) as Manifest['documents'];
  const deployment = documents.find((d) => d.kind === 'Deployment');
  if (!deployment) throw new Error(`${file} has no Deployment`);
  const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  const container = (name: string): Container => {
    const found = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === name);
    if (!found) throw new Error(`${file}: no container named "${name}"`);
    return found;
  };
  const env = (name: string) =>
    Object.fromEntries((container(name).env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
  return { documents, pod, container, env };
}
