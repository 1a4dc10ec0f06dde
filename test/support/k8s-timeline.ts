import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { KUBELET_LOG, POD_LOGS, type KubeApi, type KubeObject, type Watch, type WatchEvent } from './k8s.ts';

/**
 * What the kubelet did to each container of a namespace's pods as they stopped, from three
 * witnesses: its events (Killing, FailedPreStopHook), its own log at --v=3 (each preStop's start
 * and end, and the SIGTERM it sends with the grace period after which the runtime sends SIGKILL),
 * and the containers' exit states (137: killed). Each step carries the time this process saw it,
 * or the log line's own (microseconds), never the API's whole seconds.
 */

type StopStepKind =
  | 'killing' // the Killing event: the kubelet starts stopping the container (its preStop first)
  | 'preStop' // the preStop hook starts
  | 'preStopDone' // it returned
  | 'preStopTimedOut' // the grace period ran out while it ran
  | 'preStopFailed' // FailedPreStopHook
  | 'sigterm' // StopContainer: SIGTERM, SIGKILL after `gracePeriodS`
  | 'stopped' // StopContainer returned: the container is gone (the kubelet's log, to the microsecond)
  | 'exited'; // the container's terminated state in the pod's status (its exit code; seen late, in a batch)

interface StopStep {
  kind: StopStepKind;
  at: number;
  gracePeriodS?: number;
  exitCode?: number;
  /** SIGKILL: the container did not exit within its grace period (exit code 137). */
  killed?: boolean;
}

interface ContainerStops {
  pod: string;
  container: string;
  steps: StopStep[];
}

export interface Timeline {
  /** Every container's steps, in time order, for one pod. */
  of(pod: string): ContainerStops[];
  /** The step of one kind of a container (the first), if seen. */
  step(pod: string, container: string, kind: StopStepKind): StopStep | undefined;
  /** A readable table for assertion messages and the test log. */
  describe(pod: string): string;
  stop(): void;
}

const LOG_STEPS: Array<[RegExp, StopStepKind]> = [
  [/"Running preStop hook"/, 'preStop'],
  [/"PreStop hook completed"/, 'preStopDone'],
  [/"PreStop hook not completed in grace period"/, 'preStopTimedOut'],
  [/"Killing container with a grace period"/, 'sigterm'],
  [/"Container exited normally"/, 'stopped'],
];

/** Reads the kubelet log from the offset the timeline started at: the lines about `namespace`'s pods. */
function kubeletSteps(namespace: string, from: number): Array<{ pod: string; container: string; step: StopStep }> {
  const text = readFileSync(KUBELET_LOG).subarray(from).toString();
  const found: Array<{ pod: string; container: string; step: StopStep }> = [];
  const year = new Date().getUTCFullYear();
  for (const line of text.split('\n')) {
    const match = LOG_STEPS.find(([pattern]) => pattern.test(line));
    if (!match) continue;
    const pod = /\bpod="([^"/]+)\/([^"]+)"/.exec(line);
    const container = /\bcontainerName="([^"]+)"/.exec(line);
    // klog's header: Lmmdd hh:mm:ss.uuuuuu, in the node's time zone (UTC on these machines).
    const time = /^[IWEF](\d\d)(\d\d) (\d\d:\d\d:\d\d\.\d{6})/.exec(line);
    if (!pod || pod[1] !== namespace || !container || !time) continue;
    const at = Date.parse(`${year}-${time[1]}-${time[2]}T${time[3]}Z`);
    const grace = /\bgracePeriod=(\d+)/.exec(line);
    found.push({
      pod: pod[2]!,
      container: container[1]!,
      step: { kind: match[1], at, ...(grace && match[1] === 'sigterm' ? { gracePeriodS: Number(grace[1]) } : {}) },
    });
  }
  return found;
}

export async function recordTimeline(api: KubeApi, namespace: string): Promise<Timeline> {
  const logFrom = statSync(KUBELET_LOG).size;
  const seen = new Map<string, ContainerStops>();
  const entry = (pod: string, container: string): ContainerStops => {
    const key = `${pod}/${container}`;
    let stops = seen.get(key);
    if (!stops) seen.set(key, (stops = { pod, container, steps: [] }));
    return stops;
  };
  const add = (pod: string, container: string, step: StopStep): void => {
    const stops = entry(pod, container);
    if (!stops.steps.some((s) => s.kind === step.kind)) stops.steps.push(step);
  };

  const onEvent = ({ type, object, at }: WatchEvent): void => {
    if (type !== 'ADDED' && type !== 'MODIFIED') return;
    const involved = object.involvedObject as KubeObject | undefined;
    if (involved?.kind !== 'Pod') return;
    const container = /spec\.(?:initContainers|containers)\{(.+)\}/.exec(involved.fieldPath ?? '')?.[1];
    if (!container) return;
    if (object.reason === 'Killing') add(involved.name, container, { kind: 'killing', at });
    if (object.reason === 'FailedPreStopHook') add(involved.name, container, { kind: 'preStopFailed', at });
  };
  const onPod = ({ type, object, at }: WatchEvent): void => {
    if (type === 'BOOKMARK' || type === 'ERROR') return;
    const statuses = [
      ...((object.status?.initContainerStatuses as KubeObject[]) ?? []),
      ...((object.status?.containerStatuses as KubeObject[]) ?? []),
    ];
    for (const status of statuses) {
      const terminated = status.state?.terminated ?? status.lastState?.terminated;
      // Only the stop of a pod being deleted: not an init container that ran to completion.
      if (!terminated || !object.metadata.deletionTimestamp) continue;
      add(object.metadata.name, status.name, {
        kind: 'exited',
        at,
        exitCode: terminated.exitCode,
        killed: terminated.exitCode === 137,
      });
    }
  };
  const watches: Watch[] = [
    await api.listAndWatch(`/api/v1/namespaces/${namespace}/events`, onEvent),
    await api.listAndWatch(`/api/v1/namespaces/${namespace}/pods`, onPod),
  ];

  const merged = (pod: string): ContainerStops[] => {
    for (const { pod: p, container, step } of kubeletSteps(namespace, logFrom)) if (p === pod) add(p, container, step);
    return [...seen.values()]
      .filter((s) => s.pod === pod)
      .map((s) => ({ ...s, steps: [...s.steps].sort((a, b) => a.at - b.at) }));
  };
  return {
    of: merged,
    step: (pod, container, kind) =>
      merged(pod)
        .find((s) => s.container === container)
        ?.steps.find((s) => s.kind === kind),
    describe(pod) {
      const all = merged(pod);
      const t0 = Math.min(...all.flatMap((s) => s.steps.map((step) => step.at)));
      return all
        .map(
          (s) =>
            `${s.container}: ${s.steps
              .map(
                (step) =>
                  `${step.kind}${step.gracePeriodS !== undefined ? `(grace ${step.gracePeriodS} s)` : ''}${
                    step.exitCode !== undefined ? `(exit ${step.exitCode})` : ''
                  } +${step.at - t0} ms`,
              )
              .join(', ')}`,
        )
        .join('\n');
    },
    stop() {
      for (const watch of watches) watch.stop();
    },
  };
}

/**
 * A container's log as the kubelet keeps it (CRI format: `<RFC 3339 time> <stream> <tag> <line>`),
 * while the pod exists: each line with the runtime's own time of it, and the line parsed when it is
 * JSON (the helper's pino lines).
 */
export function containerLog(
  namespace: string,
  pod: string,
  container: string,
): Array<{ at: number; text: string; json?: Record<string, unknown> }> {
  if (!existsSync(POD_LOGS)) return [];
  const dir = readdirSync(POD_LOGS).find((d) => d.startsWith(`${namespace}_${pod}_`));
  const folder = dir && path.join(POD_LOGS, dir, container);
  if (!folder || !existsSync(folder)) return [];
  const lines: Array<{ at: number; text: string; json?: Record<string, unknown> }> = [];
  for (const file of readdirSync(folder).sort())
    for (const line of readFileSync(path.join(folder, file), 'utf8').split('\n')) {
      const match = /^(\S+) (?:stdout|stderr) \S+ (.*)$/.exec(line);
      if (!match) continue;
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(match[2]!) as Record<string, unknown>;
      } catch {}
      lines.push({ at: Date.parse(match[1]!), text: match[2]!, ...(json ? { json } : {}) });
    }
  return lines;
}
