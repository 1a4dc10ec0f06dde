// The Kubernetes trigger, beside signals.ts's SIGTERM: the kubelet's preStop `httpGet` to the
// helper. Loaded only when PRESTOP_PORT is set, so a helper without it carries no HTTP server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { StopTrigger } from '@task-helper/core';
import { ConfigError, type PreStopAddress } from '@task-helper/core/host';

/** The path the preStop `httpGet` names. */
export const PRESTOP_PATH = '/prestop';

/** What the endpoint needs of the runner: the one stop (a second call shares the first's promise), and what started it. */
export interface Stoppable {
  stop(trigger: StopTrigger, at: number): Promise<number>;
  readonly stoppedBy: StopTrigger | undefined;
}

/** Why a listen fails, and the fix, for the one line `run` exits 78 with. */
const LISTEN_FIXES: Readonly<Record<string, string>> = {
  EADDRINUSE: "another process has the port: pick a free PRESTOP_PORT and the preStop httpGet's port with it",
  EADDRNOTAVAIL: "not an address of this pod: set PRESTOP_HOST to the pod's IP ($(POD_IP) from status.podIP)",
  EACCES: 'a port below 1024 needs a privilege the helper drops: pick PRESTOP_PORT 1024 or above',
};

/**
 * Serves `GET /prestop` on `address` for the rest of the process; resolves once it listens. The
 * kubelet's hook client has no timeout, follows no redirect elsewhere and ignores the status: it
 * only waits for the answer, then sends the held container SIGTERM. So the first call starts the
 * stop and every call, that one included, is answered only when the stop is over (the budget
 * bounds it, stop-schedule.ts): `200 drained`, or `500` when a step failed, for whoever reads the
 * answer by hand. A call after that is answered at once, the same way. Nothing else is served.
 */
export async function servePreStop(address: PreStopAddress, runner: Stoppable, logger: Logger): Promise<void> {
  const { createServer } = process.getBuiltinModule('node:http');
  const log = logger.child({ phase: 'stop' });
  const server = createServer((request, response) => answer(request, response, runner, log));
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException): void => {
      const fix = LISTEN_FIXES[error.code ?? ''] ?? 'fix PRESTOP_HOST or PRESTOP_PORT';
      reject(
        new ConfigError(
          `PRESTOP_HOST=${address.host} PRESTOP_PORT=${address.port}: the preStop endpoint cannot listen (${error.code ?? error.message}): ${fix}`,
        ),
      );
    };
    server.once('error', refuse);
    server.listen(address.port, address.host, () => {
      server.off('error', refuse);
      server.on('error', (error) => log.error({ error: error.message }, 'preStop endpoint error'));
      resolve();
    });
  });
  logger.child({ phase: 'start' }).info({ ...address, path: PRESTOP_PATH }, 'preStop endpoint listening');
}

function answer(request: IncomingMessage, response: ServerResponse, runner: Stoppable, log: Logger): void {
  const at = Date.now();
  const path = (request.url ?? '').split('?')[0];
  response.setHeader('content-type', 'text/plain; charset=utf-8');
  // One request per connection: the kubelet opens one per hook, and nothing is left open after it.
  response.setHeader('connection', 'close');
  if (path !== PRESTOP_PATH) {
    response.writeHead(404).end(`not found: the preStop endpoint is GET ${PRESTOP_PATH}\n`);
    return;
  }
  if (request.method !== 'GET') {
    response.writeHead(405, { allow: 'GET' }).end(`method not allowed: the preStop endpoint is GET ${PRESTOP_PATH}\n`);
    return;
  }
  const caller = { remote: request.socket.remoteAddress, userAgent: request.headers['user-agent'] };
  const before = runner.stoppedBy;
  // The runner logs `preStop call received` for the call that starts the stop.
  if (before !== undefined) log.info({ ...caller, stoppedBy: before }, 'preStop call after the stop began');
  response.on('close', () => {
    if (!response.writableFinished)
      log.warn({ ...caller, ms: Date.now() - at }, 'preStop caller left before the stop was over');
  });
  void runner.stop('preStop', at).then((exitCode) => {
    const status = exitCode === 0 ? 200 : 500;
    response
      .writeHead(status)
      .end(exitCode === 0 ? 'drained\n' : `drain finished with exit code ${exitCode}: see the helper's log\n`);
    log.info({ ...caller, status, exitCode, ms: Date.now() - at }, 'preStop call answered');
  });
}
