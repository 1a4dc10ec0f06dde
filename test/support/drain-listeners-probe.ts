import { Agent, request } from 'node:http';
import { startToyApp, type ToyApp } from '@task-helper/envoy-sim';
import { startExampleEnvoy, type EnvoyProcess } from './real-envoy.ts';

/**
 * What one admin call does to the example sidecar's two listeners (examples/envoy/envoy.yaml:
 * `ingress`, traffic_direction INBOUND, and `egress`, OUTBOUND, the app's HTTP proxy), measured on
 * the real binary: a fresh Envoy per call (a drain cannot be undone), `--drain-strategy immediate`
 * so a drained listener's every response says `Connection: close`, and a short `--drain-time-s`.
 */

/** The calls measured: every combination of /drain_listeners' three flags, and /healthcheck/fail alone. */
export const PROBED_CALLS = [
  '/drain_listeners',
  '/drain_listeners?inboundonly',
  '/drain_listeners?graceful',
  '/drain_listeners?graceful&inboundonly',
  '/drain_listeners?skip_exit',
  '/drain_listeners?skip_exit&inboundonly',
  '/drain_listeners?graceful&skip_exit',
  '/drain_listeners?inboundonly&graceful&skip_exit',
  '/healthcheck/fail',
] as const;

/**
 * One listener seen through a new connection: `open` (answered, keep-alive), `close` (answered with
 * `Connection: close`: the listener is draining), `refused` (not accepting).
 */
type ListenerSeen = 'open' | 'close' | 'refused' | `error ${string}`;

interface ListenerOutcome {
  /** A keep-alive connection opened before the call, asked again right after it. */
  existing: ListenerSeen;
  /** A new connection right after the call (within the drain time). */
  during: ListenerSeen;
  /** A new connection once the drain time has passed. */
  after: ListenerSeen;
}

export interface ProbeOutcome {
  call: string;
  /** Envoy's answer, e.g. `200 OK` or `400 skip_exit requires graceful`. */
  answer: string;
  ingress: ListenerOutcome;
  egress: ListenerOutcome;
  /** `/ready`'s body once the drain time has passed, or `exited` if Envoy has gone. */
  ready: string;
}

/**
 * One keep-alive HTTP/1.1 request on `agent`, or on a new connection (a keep-alive agent of its own:
 * Node's `agent: false` would send `Connection: close` itself, and Envoy echo it); egress requests
 * go through Envoy as an HTTP proxy.
 */
async function ask(listenerUrl: string, target: string, shared?: Agent): Promise<ListenerSeen> {
  const agent = shared ?? new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return await askOn(agent, listenerUrl, target);
  } finally {
    if (!shared) agent.destroy();
  }
}

function askOn(agent: Agent, listenerUrl: string, target: string): Promise<ListenerSeen> {
  const listener = new URL(listenerUrl);
  const absolute = /^http:/.test(target);
  return new Promise((resolve) => {
    const req = request(
      {
        host: listener.hostname,
        port: listener.port,
        path: target,
        agent,
        headers: absolute ? { host: new URL(target).host } : {},
        timeout: 5_000,
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          if (res.statusCode !== 200) resolve(`error HTTP ${res.statusCode}`);
          else resolve(res.headers.connection === 'close' ? 'close' : 'open');
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : `error ${error.code ?? error.message}`),
    );
    req.end();
  });
}

const stopped = async (envoy: EnvoyProcess): Promise<number> =>
  Number(
    /listener_manager\.listener_stopped: (\d+)/.exec(
      (await envoy.admin('GET', '/stats?filter=listener_manager.listener_stopped')).body,
    )?.[1] ?? Number.NaN,
  );

export interface ProbeOptions {
  /** The envoy binary (default: the tests' own, `ENVOY_BIN` or .tools/bin/envoy). */
  binary?: string;
  /** Envoy's --drain-time-s: long enough to look at both listeners before it ends. */
  drainTimeS?: number;
  /** How long past the drain time a listener that never stops is watched. */
  graceMs?: number;
  /** A call made just before the measured one (the helper's `/healthcheck/fail`). */
  before?: string;
  /** The egress listener's `drain_type` (the example leaves it `DEFAULT`). */
  egressDrainType?: 'MODIFY_ONLY';
}

/**
 * Measures one call. `after` is read once every listener the call covers (the inbound one with
 * `inboundonly`, else both) has stopped, as Envoy's `listener_manager.listener_stopped` counts, or,
 * where they never do, once `drainTimeS` plus `graceMs` has passed: an absence can only be seen by
 * waiting it out.
 */
export async function probeCall(
  call: string,
  { binary, drainTimeS = 3, graceMs = 3_000, before, egressDrainType }: ProbeOptions = {},
): Promise<ProbeOutcome> {
  const app: ToyApp = await startToyApp();
  let envoy: EnvoyProcess | undefined;
  const agents = {
    ingress: new Agent({ keepAlive: true, maxSockets: 1 }),
    egress: new Agent({ keepAlive: true, maxSockets: 1 }),
  };
  try {
    envoy = await startExampleEnvoy(app.port, {
      binary,
      editConfig: (yaml) => {
        if (!egressDrainType) return yaml;
        const edited = yaml.replace(/^( +)traffic_direction: OUTBOUND$/m, `$&\n$1drain_type: ${egressDrainType}`);
        if (edited === yaml) throw new Error('examples/envoy/envoy.yaml: no "traffic_direction: OUTBOUND" line');
        return edited;
      },
      args: ['--concurrency', '1', '--drain-strategy', 'immediate', '--drain-time-s', String(drainTimeS)],
    });
    const urls = { ingress: envoy.listeners.ingress!, egress: envoy.listeners.egress! };
    const targets = { ingress: '/orders', egress: `${app.url}/orders` };
    const probe = (name: 'ingress' | 'egress', agent?: Agent) => ask(urls[name], targets[name], agent);
    for (const name of ['ingress', 'egress'] as const) {
      const before = await probe(name, agents[name]);
      if (before !== 'open') throw new Error(`${name} before ${call}: ${before}, expected open`);
    }
    const stoppedBefore = await stopped(envoy);
    if (before) {
      const first = await envoy.admin('POST', before);
      if (first.status !== 200) throw new Error(`POST ${before}: ${first.status} ${first.body}`);
    }
    const posted = await envoy.admin('POST', call);
    const calledAt = Date.now();
    const answer = `${posted.status} ${posted.body.trim()}`;
    const existing = { ingress: await probe('ingress', agents.ingress), egress: await probe('egress', agents.egress) };
    const during = { ingress: await probe('ingress'), egress: await probe('egress') };
    if (Date.now() - calledAt > drainTimeS * 1000)
      throw new Error(`${call}: the machine took over ${drainTimeS} s to look at the listeners; raise drainTimeS`);
    const covered = call.includes('inboundonly') ? 1 : 2;
    const end = calledAt + drainTimeS * 1000 + graceMs;
    while (Date.now() < end && envoy.child.exitCode === null && (await stopped(envoy)) - stoppedBefore < covered)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const after = { ingress: await probe('ingress'), egress: await probe('egress') };
    const ready =
      envoy.child.exitCode === null
        ? (await envoy.admin('GET', '/ready')).body.trim()
        : `exited ${envoy.child.exitCode}`;
    return {
      call,
      answer,
      ingress: { existing: existing.ingress, during: during.ingress, after: after.ingress },
      egress: { existing: existing.egress, during: during.egress, after: after.egress },
      ready,
    };
  } finally {
    agents.ingress.destroy();
    agents.egress.destroy();
    await envoy?.close();
    await app.close();
  }
}

/**
 * One outcome in a line: the answer, then each listener's existing/during/after, e.g.
 * `200 OK; inbound close/close/refused; outbound open/open/open; LIVE`.
 */
export function summary({ answer, ingress, egress, ready }: ProbeOutcome): string {
  const seen = ({ existing, during, after }: ListenerOutcome) => `${existing}/${during}/${after}`;
  return `${answer}; inbound ${seen(ingress)}; outbound ${seen(egress)}; ${ready}`;
}
