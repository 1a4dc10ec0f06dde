import { port, type Parser } from '@task-helper/core';

/**
 * The Fetch standard's blocked ("bad") ports: fetch, which ky and so the drain's POSTs stand on,
 * refuses them before connecting, while the plain-socket GETs (/ready, `health`) would work. One
 * client for every call must work on every allowed port, so these are refused at start instead.
 */
const FETCH_BLOCKED_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);
const BLOCKED = 'that fetch allows (not 6000, 6665-6669 and the like)';

/**
 * Envoy's admin address: plain `http://host:port` and nothing else. The admin listener speaks
 * plain HTTP (the /ready probe and `health` use a plain socket); credentials would be logged and
 * sent nowhere useful; a path, query or fragment would be glued to every endpoint.
 */
export const adminUrl: Parser<string> = {
  expected: `a plain http://host:port URL (no https, credentials, path, query or fragment) on a port ${BLOCKED}`,
  parse: (raw) => {
    if (typeof raw !== 'string' || !URL.canParse(raw)) return undefined;
    const url = new URL(raw);
    const plain =
      url.protocol === 'http:' &&
      url.username === '' &&
      url.password === '' &&
      url.pathname === '/' &&
      !/[?#]/.test(raw);
    return plain && !FETCH_BLOCKED_PORTS.has(Number(url.port || 80)) ? url.origin : undefined;
  },
};

/** ENVOY_ADMIN_ACCESS_PORT (App Mesh's variable): a TCP port fetch does not refuse. */
export const adminPort: Parser<number> = {
  expected: `a TCP port from 1 to 65535 ${BLOCKED}`,
  parse: (raw, fromEnv) => {
    const value = port.parse(raw, fromEnv);
    return value === undefined || FETCH_BLOCKED_PORTS.has(value) ? undefined : value;
  },
};
