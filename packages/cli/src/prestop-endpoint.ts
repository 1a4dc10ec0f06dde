// The Kubernetes trigger, beside signals.ts's SIGTERM: the kubelet's preStop `httpGet` to the
// helper. Loaded only when PRESTOP_PORT is set (bench/footprint.ts measures the bundle with it).
// HTTP/1.1 over a plain socket, as core's http-get.ts reads answers: one GET with no body, answered
// once and closed, is all the kubelet sends, and node:http would cost an idle helper about 1 MB.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { StopTrigger } from '@task-helper/core';
import type { PreStopAddress } from '@task-helper/core/host';

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

/** A request line and headers past this are not a kubelet's: 400. */
const MAX_REQUEST_BYTES = 8 * 1024;
/** A caller that has not sent its whole request by then is dropped; once it has, the answer may take the whole drain. */
const REQUEST_TIMEOUT_MS = 10_000;
const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
};

/**
 * Serves `GET /prestop` on `address` for the rest of the process; resolves once it listens, or
 * rejects with the one line `run` exits 78 with (`run` makes it the ConfigError: in the bundle a
 * value import of core from this lazy chunk cost 6 MB of idle RSS, measured). The
 * kubelet's hook client has no timeout, follows no redirect elsewhere and ignores the status: it
 * only waits for the answer, then sends the held container SIGTERM. So the first call starts the
 * stop and every call, that one included, is answered only when the stop is over (the budget
 * bounds it, stop-schedule.ts): `200 drained`, or `500` when a step failed, for whoever reads the
 * answer by hand. A call after that is answered at once, the same way. Nothing else is served.
 */
export async function servePreStop(address: PreStopAddress, runner: Stoppable, logger: Logger): Promise<void> {
  const { createServer } = process.getBuiltinModule('node:net');
  const log = logger.child({ phase: 'stop' });
  const server = createServer((socket) => readRequest(socket, runner, log));
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException): void => {
      const fix = LISTEN_FIXES[error.code ?? ''] ?? 'fix PRESTOP_HOST or PRESTOP_PORT';
      reject(
        new Error(
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

/** Reads one request (line and headers; a GET has no body), then answers it. */
function readRequest(socket: Socket, runner: Stoppable, log: Logger): void {
  let head = '';
  socket.setEncoding('latin1');
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
  // A caller that resets the connection is the `close` below; nothing to report twice.
  socket.on('error', () => undefined);
  const onData = (chunk: string): void => {
    head += chunk;
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > MAX_REQUEST_BYTES) reply(socket, 400, 'bad request: not an HTTP request line and headers\n');
      return;
    }
    socket.off('data', onData);
    socket.setTimeout(0);
    answer(socket, head.slice(0, end), runner, log);
  };
  socket.on('data', onData);
}

function answer(socket: Socket, head: string, runner: Stoppable, log: Logger): void {
  const at = Date.now();
  const [line = '', ...headers] = head.split('\r\n');
  const [method, target, version] = line.split(' ');
  if (!method || !target || !version?.startsWith('HTTP/1.')) {
    reply(socket, 400, 'bad request: not an HTTP/1.1 request line\n');
    return;
  }
  if (target.split('?')[0] !== PRESTOP_PATH) {
    reply(socket, 404, `not found: the preStop endpoint is GET ${PRESTOP_PATH}\n`);
    return;
  }
  if (method !== 'GET') {
    reply(socket, 405, `method not allowed: the preStop endpoint is GET ${PRESTOP_PATH}\n`, 'Allow: GET\r\n');
    return;
  }
  const userAgent = headers.find((h) => /^user-agent:/i.test(h))?.replace(/^user-agent:\s*/i, '');
  const caller = { remote: socket.remoteAddress, userAgent };
  const before = runner.stoppedBy;
  // The runner logs `preStop call received` for the call that starts the stop.
  if (before !== undefined) log.info({ ...caller, stoppedBy: before }, 'preStop call after the stop began');
  let answered = false;
  socket.on('close', () => {
    if (!answered) log.warn({ ...caller, ms: Date.now() - at }, 'preStop caller left before the stop was over');
  });
  void runner.stop('preStop', at).then((exitCode) => {
    answered = true;
    const status = exitCode === 0 ? 200 : 500;
    reply(
      socket,
      status,
      exitCode === 0 ? 'drained\n' : `drain finished with exit code ${exitCode}: see the helper's log\n`,
    );
    log.info({ ...caller, status, exitCode, ms: Date.now() - at }, 'preStop call answered');
  });
}

/** One answer, then the connection closes: the kubelet opens one per hook, and nothing is left open. */
function reply(socket: Socket, status: number, body: string, extraHeaders = ''): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extraHeaders}\r\n${body}`,
  );
}
