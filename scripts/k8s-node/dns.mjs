// The node's cluster DNS (CoreDNS is no Go module of Kubernetes'), started by scripts/k8s-node.sh on
// the node's address inside its network namespace: `<service>.<namespace>.svc.cluster.local`
// answers A with the Service's ClusterIP (kube-proxy routes it), or for a headless Service the
// addresses of its ready endpoints, read from the API server every 500 ms. Nothing else.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const [address, apiUrl, caFile, tokenFile] = process.argv.slice(2);
const ca = readFileSync(caFile);
const token = readFileSync(tokenFile, 'utf8').trim();
const DOMAIN = 'svc.cluster.local';

/** name (lower case, no trailing dot) → IPv4 addresses */
let records = new Map();

function get(path) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${apiUrl}${path}`,
      { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.once('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(Buffer.concat(chunks).toString()))
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}

async function refresh() {
  const [services, slices] = await Promise.all([
    get('/api/v1/services'),
    get('/apis/discovery.k8s.io/v1/endpointslices'),
  ]);
  const next = new Map();
  for (const service of services.items) {
    const name = `${service.metadata.name}.${service.metadata.namespace}.${DOMAIN}`;
    if (service.spec.clusterIP && service.spec.clusterIP !== 'None') next.set(name, [service.spec.clusterIP]);
  }
  for (const slice of slices.items) {
    const service = slice.metadata.labels?.['kubernetes.io/service-name'];
    const name = `${service}.${slice.metadata.namespace}.${DOMAIN}`;
    if (!service || slice.addressType !== 'IPv4' || next.has(name)) continue;
    const list = next.get(`headless:${name}`) ?? [];
    for (const endpoint of slice.endpoints ?? [])
      if (endpoint.conditions?.ready !== false) list.push(...endpoint.addresses);
    next.set(`headless:${name}`, list);
  }
  for (const [key, list] of [...next]) if (key.startsWith('headless:')) next.set(key.slice(9), list);
  records = next;
}
const tick = () => void refresh().catch(() => undefined);
tick();
setInterval(tick, 500);

/** The question's name and where the question section ends. */
function question(msg) {
  const labels = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    labels.push(msg.subarray(i + 1, i + 1 + msg[i]).toString('latin1'));
    i += 1 + msg[i];
  }
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

const server = createSocket('udp4');
server.on('message', (msg, peer) => {
  if (msg.length < 17) return;
  const { name, type, end } = question(msg);
  const known = records.get(name);
  // A: the addresses; any other type of a known name: no data; an unknown name: NXDOMAIN.
  const answers = known && type === 1 ? known : [];
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); // a response, recursion desired and available
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const answerRecords = answers.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(1, 6); // TTL 1 s: endpoints change under the tests
    rr.writeUInt16BE(4, 10);
    Buffer.from(ip.split('.').map(Number)).copy(rr, 12);
    return rr;
  });
  server.send(Buffer.concat([header, msg.subarray(12, end), ...answerRecords]), peer.port, peer.address);
});
server.bind(53, address);
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.close(() => process.exit(0)));
