// The node's cluster DNS, started by scripts/k8s-node.sh on the node's address inside its network
// namespace: `<service>.<namespace>.svc.cluster.local` answers with the addresses of the Service's
// ready endpoints, read from the API server's EndpointSlices every 500 ms. There is no kube-proxy
// here, so a ClusterIP would lead nowhere: every Service resolves as a headless one does, which is
// what a STRICT_DNS Envoy cluster (examples/kubernetes/gateway.yaml) balances over anyway.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const [address, apiUrl, caFile, tokenFile] = process.argv.slice(2);
const ca = readFileSync(caFile);
const token = readFileSync(tokenFile, 'utf8').trim();
const DOMAIN = 'svc.cluster.local';

/** name (lower case, no trailing dot) → IPv4 addresses */
let records = new Map();

function refresh() {
  const req = request(
    `${apiUrl}/apis/discovery.k8s.io/v1/endpointslices`,
    { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.once('end', () => {
        if (res.statusCode !== 200) return;
        const next = new Map();
        for (const slice of JSON.parse(Buffer.concat(chunks).toString()).items) {
          const service = slice.metadata.labels?.['kubernetes.io/service-name'];
          if (!service || slice.addressType !== 'IPv4') continue;
          const name = `${service}.${slice.metadata.namespace}.${DOMAIN}`;
          const list = next.get(name) ?? [];
          for (const endpoint of slice.endpoints ?? [])
            if (endpoint.conditions?.ready !== false) list.push(...endpoint.addresses);
          next.set(name, list);
        }
        records = next;
      });
    },
  );
  req.once('timeout', () => req.destroy());
  req.once('error', () => {});
  req.end();
}
refresh();
setInterval(refresh, 500);

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
