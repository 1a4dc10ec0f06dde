import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

/** Envoy's HTTP connection manager default idle_timeout (1 h); Node's 5 s default would drop keep-alives early. */
const IDLE_TIMEOUT_MS = 60 * 60 * 1000;

export interface HttpEndpoint {
  port: number;
  url: string;
  /** Stops accepting new connections; open ones keep being served, as with Envoy's listener stop. */
  stopAccepting(): void;
  /** Stops accepting and destroys every open connection. */
  close(): Promise<void>;
}

export interface EndpointHandlers {
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onConnection?(socket: Socket): void;
}

/**
 * An HTTP/1.1 server whose accepting socket is separate from its connections. http.Server.close()
 * also closes idle keep-alive connections (Node >= 19), which Envoy's listener stop does not, so
 * a plain net.Server accepts and hands each socket to an http.Server that never listens itself.
 */
export async function listenHttp(host: string, port: number, handlers: EndpointHandlers): Promise<HttpEndpoint> {
  const http = createHttpServer(handlers.onRequest);
  http.keepAliveTimeout = IDLE_TIMEOUT_MS;
  const sockets = new Set<Socket>();
  const acceptor = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    handlers.onConnection?.(socket);
    http.emit('connection', socket);
  });
  const closed = new Promise<void>((resolve) => acceptor.once('close', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    acceptor.once('error', reject);
    acceptor.listen(port, host, () => {
      acceptor.off('error', reject);
      resolve();
    });
  });

  const stopAccepting = () => {
    if (acceptor.listening) acceptor.close();
  };
  const bound = (acceptor.address() as AddressInfo).port;
  return {
    port: bound,
    url: httpUrl(host, bound),
    stopAccepting,
    async close() {
      stopAccepting();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
