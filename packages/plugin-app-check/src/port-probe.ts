import { errorText } from '@task-helper/core';

// process.getBuiltinModule, not an ESM import: see core's http-get.ts (idle memory).
const { connect } = process.getBuiltinModule('node:net');

/** What a connection attempt showed: something accepted it, nothing listens (refused), or neither within the time. */
export type PortProbe = { listening: true } | { listening: false; refused: boolean; reason: string };

/**
 * Opens one TCP connection and closes it at once. Accepting a connection is the one thing every
 * live server does, whatever it speaks (HTTP/1.1, HTTP/2 only, gRPC) and however slowly it answers.
 */
export function probePort(host: string, port: number, signal: AbortSignal, timeoutMs: number): Promise<PortProbe> {
  const timeout = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve) => {
    const socket = connect({ host, port, signal: AbortSignal.any([signal, timeout]) });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ listening: true });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const reason = timeout.aborted
        ? `no connection within ${timeoutMs} ms`
        : signal.aborted
          ? `aborted: ${errorText(signal.reason)}`
          : (error.code ?? error.message);
      resolve({ listening: false, refused: error.code === 'ECONNREFUSED', reason });
    });
  });
}
