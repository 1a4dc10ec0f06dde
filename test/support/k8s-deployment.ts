import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import type { KubeApi, KubeObject } from './k8s.ts';
import { pollUntil } from './poll.ts';

/**
 * A manifest of examples/kubernetes/ in a namespace of its own, and the waits a test needs around
 * it: a Deployment rolled out, a pod gone. Namespaces are deleted with their pods' grace period
 * cut to zero, so one test's leftovers never hold the node for the next.
 */

const root = path.resolve(import.meta.dirname, '../..');
export const manifestPath = (name: string): string => path.join(root, 'examples/kubernetes', name);

/** The documents of a manifest, parsed (to read what the test must know: ports, grace period). */
export const manifestDocs = (name: string): KubeObject[] =>
  (loadAll(readFileSync(manifestPath(name), 'utf8')) as KubeObject[]).filter(Boolean);

export async function createNamespace(api: KubeApi, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // The namespace's default service account, which pods need before they can be created.
  await pollUntil(
    `namespace ${name}: default service account`,
    async () =>
      (await api.call('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`, undefined, { allow: [404] })).code
        ? undefined
        : true,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return name;
}

export async function deleteNamespace(api: KubeApi, namespace: string): Promise<void> {
  await api.delete(`/api/v1/namespaces/${namespace}/pods`, { gracePeriodSeconds: 0 }).catch(() => undefined);
  await api.delete(`/api/v1/namespaces/${namespace}`, { gracePeriodSeconds: 0 });
}

export const podsOf = async (api: KubeApi, namespace: string, selector: string): Promise<KubeObject[]> =>
  (await api.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`))
    .items as KubeObject[];

const isReady = (pod: KubeObject): boolean =>
  !pod.metadata.deletionTimestamp &&
  ((pod.status?.conditions as KubeObject[]) ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Resolves once the Deployment's newest template runs on all its replicas, every one Ready, and no
 * pod of an older one is left (not even a terminating one): the end of a rollout.
 */
export async function rolledOut(
  api: KubeApi,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<KubeObject[]> {
  const deployment = await api.get(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
  const selector = Object.entries(deployment.spec.selector.matchLabels as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return pollUntil(
    `deployment ${namespace}/${name} rolled out`,
    async () => {
      const d = await api.get(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
      const s = d.status ?? {};
      const pods = await podsOf(api, namespace, selector);
      const done =
        s.observedGeneration >= d.metadata.generation &&
        s.updatedReplicas === d.spec.replicas &&
        s.readyReplicas === d.spec.replicas &&
        pods.length === d.spec.replicas &&
        pods.every(isReady);
      if (done) return pods;
      throw new Error(
        `status ${JSON.stringify(s)}; pods: ${pods.map((p) => `${p.metadata.name} ${p.status?.phase}${p.metadata.deletionTimestamp ? ' terminating' : ''}`).join(', ')}`,
      );
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Resolves once the pod is gone from the API (its containers all stopped and the kubelet done). */
export async function gone(api: KubeApi, namespace: string, pod: string, timeoutMs: number): Promise<number> {
  return pollUntil(
    `pod ${namespace}/${pod} gone`,
    async () =>
      (await api.call('GET', `/api/v1/namespaces/${namespace}/pods/${pod}`, undefined, { allow: [404] })).code === 404
        ? Date.now()
        : undefined,
    { timeoutMs, intervalMs: 250 },
  );
}
