// Relays a unix socket to a TCP address, byte for byte (TLS stays end to end). Started inside the
// node's network namespace by scripts/k8s-node.sh, it lets the tests, outside it, reach the API
// server without a single address or port of the host's: the socket is a file only root can open.
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const [socketPath, target] = process.argv.slice(2);
const [host, port] = target.split(':');
rmSync(socketPath, { force: true });
const server = createServer((client) => {
  const upstream = connect(Number(port), host);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.once('error', close).once('close', close);
  upstream.once('error', close).once('close', close);
});
// The socket is made 0600 (only root reaches the server through it) before the script sees it.
process.umask(0o177);
server.listen(socketPath);
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.close(() => process.exit(0)));
