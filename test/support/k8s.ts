import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadAll } from 'js-yaml';

/**
 * The API server of the node scripts/k8s-node.sh runs (make test starts it), spoken to over its
 * REST API: no kubectl, no client library. The node lives in its own network namespace; the script
 * relays the API server to a unix socket only root can open, and writes the per-run CA and tokens
 * beside it.
 */

export const NODE_RUN_DIR = '/run/task-helper-k8s';
/** The node's network namespace: the pods' addresses are reachable from inside it only. */
export const NODE_NETNS = 'task-helper-k8s';
/** The kubelet's log (klog, --v=3): preStop start and end and each SIGTERM's grace period. */
export const KUBELET_LOG = '/var/log/task-helper-k8s/kubelet.log';
/** The containers' logs (the kubelet's podLogsDir), kept until their pod is gone. */
export const POD_LOGS = '/var/log/task-helper-k8s/pods';

const socketPath = `${NODE_RUN_DIR}/apiserver.sock`;
/** scripts/k8s-node.sh, which builds, starts and stops the node. */
export const NODE_SCRIPT = path.resolve(import.meta.dirname, '../../scripts/k8s-node.sh');

/**
 * What a test does without a running node: in CI (CI=true) that is an error, so a broken node start
 * is never a green run; elsewhere the Kubernetes tests are skipped with this message.
 */
export function k8sMissing(): string | undefined {
  let message: string | undefined;
  if (!existsSync(socketPath)) {
    message = `no Kubernetes node runs (${socketPath} missing): run \`scripts/k8s-node.sh start\` as root (make test does)`;
  } else {
    const ready = spawnSync(NODE_SCRIPT, ['status'], { encoding: 'utf8' });
    if (ready.status !== 0)
      message = `the Kubernetes node does not answer (${(ready.stderr || ready.stdout).trim()}): run \`scripts/k8s-node.sh start\``;
  }
  if (message && process.env.CI === 'true') throw new Error(`${message} (CI=true: the Kubernetes tests must run)`);
  return message;
}

const adminToken = (): string => {
  const line = readFileSync(`${NODE_RUN_DIR}/pki/tokens.csv`, 'utf8')
    .split('\n')
    .find((l) => l.split(',')[1] === 'admin');
  if (!line) throw new Error(`${NODE_RUN_DIR}/pki/tokens.csv: no admin token`);
  return line.split(',')[0]!;
};

// biome-ignore lint/suspicious/noExplicitAny: API objects are read field by field, as JSON.
export type KubeObject = Record<string, any>;

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
  /** When this process read it (Date.now()): the API's own timestamps have a second's resolution. */
  at: number;
}

export interface Watch {
  stop(): void;
  /** Resolves when the watch ends on its own (the server closed it) or rejects on a broken stream. */
  ended: Promise<void>;
}

interface Resource {
  plural: string;
  namespaced: boolean;
}

export class KubeApi {
  private readonly ca = readFileSync(`${NODE_RUN_DIR}/pki/ca.crt`);
  private readonly token = adminToken();
  private readonly agent = new Agent({ keepAlive: true, socketPath, maxSockets: 8 } as never);
  private readonly resources = new Map<string, Promise<Map<string, Resource>>>();

  private options(method: string, path: string, contentType?: string, length?: number) {
    return {
      socketPath,
      // The serving certificate names localhost; the socket is only the way there.
      host: 'localhost',
      servername: 'localhost',
      ca: this.ca,
      method,
      path,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(contentType ? { 'content-type': contentType } : {}),
        // Node frames a DELETE's body only with an explicit length (it sends no chunked DELETE).
        ...(length !== undefined ? { 'content-length': String(length) } : {}),
      },
    };
  }

  /** One call; a status other than 2xx throws with the API's own message (or returns it, for `allow`). */
  async call(
    method: string,
    path: string,
    body?: unknown,
    { contentType = 'application/json', allow = [] as number[] } = {},
  ): Promise<KubeObject & { status?: unknown; code?: number }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          ...this.options(
            method,
            path,
            payload ? contentType : undefined,
            payload ? Buffer.byteLength(payload) : undefined,
          ),
          agent: this.agent,
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.once('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.once('error', reject);
      req.end(payload);
    });
    let parsed: KubeObject = {};
    try {
      parsed = text ? (JSON.parse(text) as KubeObject) : {};
    } catch {
      parsed = { message: text.slice(0, 300) };
    }
    if (status >= 200 && status < 300) return parsed;
    if (allow.includes(status)) return { ...parsed, code: status };
    throw new Error(`${method} ${path}: HTTP ${status}: ${parsed.message ?? text.slice(0, 300)}`);
  }

  get = (path: string): Promise<KubeObject> => this.call('GET', path);

  /** The REST path of an object's collection (or of the object, with its name), from API discovery. */
  async pathOf(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name?: string,
  ): Promise<{ path: string; namespaced: boolean }> {
    let known = this.resources.get(apiVersion);
    if (!known) {
      known = this.get(apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`).then(
        (list) =>
          new Map(
            (list.resources as KubeObject[])
              .filter((r) => !String(r.name).includes('/'))
              .map((r) => [r.kind as string, { plural: r.name as string, namespaced: r.namespaced as boolean }]),
          ),
      );
      this.resources.set(apiVersion, known);
    }
    const resource = (await known).get(kind);
    if (!resource) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (resource.namespaced && !namespace)
      throw new Error(`${kind} ${name ?? ''}: a namespaced kind needs a namespace`);
    const scope = resource.namespaced ? `/namespaces/${namespace}` : '';
    return { path: `${base}${scope}/${resource.plural}${name ? `/${name}` : ''}`, namespaced: resource.namespaced };
  }

  /** Server-side apply, as `kubectl apply --server-side` does it: the object as written, owned by the tests. */
  async apply(object: KubeObject, namespace?: string): Promise<KubeObject> {
    const { apiVersion, kind } = object;
    const ns = object.metadata?.namespace ?? namespace;
    const { path, namespaced } = await this.pathOf(apiVersion, kind, ns, object.metadata.name);
    const body = namespaced ? { ...object, metadata: { ...object.metadata, namespace: ns } } : object;
    return this.call('PATCH', `${path}?fieldManager=task-helper-tests&force=true`, body, {
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** Every document of a YAML file (a manifest of examples/kubernetes/), applied in order. */
  async applyFile(file: string, namespace: string): Promise<KubeObject[]> {
    const applied: KubeObject[] = [];
    for (const doc of loadAll(readFileSync(file, 'utf8')) as KubeObject[]) {
      if (doc) applied.push(await this.apply(doc, namespace));
    }
    return applied;
  }

  /** DELETE with the given body (DeleteOptions); a missing object is no error. */
  delete(path: string, options: KubeObject = {}): Promise<KubeObject> {
    return this.call('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', ...options }, { allow: [404] });
  }

  /**
   * Streams a collection's changes from `resourceVersion` (the list's own, so nothing is missed
   * between a list and its watch), calling `onEvent` with each as it arrives.
   */
  watch(path: string, resourceVersion: string, onEvent: (event: WatchEvent) => void): Watch {
    let req: ReturnType<typeof request> | undefined;
    let stopped = false;
    const ended = new Promise<void>((resolve, reject) => {
      const sep = path.includes('?') ? '&' : '?';
      req = request(
        {
          ...this.options('GET', `${path}${sep}watch=true&resourceVersion=${resourceVersion}&timeoutSeconds=1800`),
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
            res.resume();
            return;
          }
          createInterface({ input: res })
            .on('line', (line) => {
              if (!line.trim()) return;
              const event = JSON.parse(line) as Omit<WatchEvent, 'at'>;
              onEvent({ ...event, at: Date.now() });
            })
            .once('close', () => resolve())
            // readline re-emits the response's errors, which the listener below handles.
            .on('error', () => undefined);
          // `aborted` once stop() destroys the request: the end of the watch, not an error.
          res.on('error', (error) => (stopped ? resolve() : reject(error)));
        },
      );
      req.on('error', (error) => (stopped ? resolve() : reject(error)));
      req.end();
    });
    // A watch nobody awaits must not end the test run with an unhandled rejection.
    ended.catch(() => undefined);
    return {
      stop() {
        stopped = true;
        req?.destroy();
      },
      ended,
    };
  }

  /** A list, then a watch from its resourceVersion: `onEvent` sees the existing objects as ADDED first. */
  async listAndWatch(path: string, onEvent: (event: WatchEvent) => void): Promise<Watch> {
    const list = await this.get(path);
    const at = Date.now();
    for (const object of list.items as KubeObject[]) onEvent({ type: 'ADDED', object, at });
    return this.watch(path, list.metadata.resourceVersion, onEvent);
  }

  close(): void {
    this.agent.destroy();
  }
}
