// process.getBuiltinModule, not an ESM import: the ESM view of fs, net and util loads their lazy parts (fs/promises, readline…), 2.6 MB of idle memory (bench/footprint.ts).
const { connect } = process.getBuiltinModule('node:net');

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * One HTTP/1.1 GET over a plain socket, for the checks at start, at the stop signal and in
 * `task-helper health` (Envoy's `/ready`, the app's health path). fetch (undici) would cost an idle
 * helper about 6 MB and 25 ms at start, and node:http about as much; a socket is already loaded
 * for stdout. Unlike fetch it takes any port (fetch refuses "bad ports" such as 6000) and follows
 * no redirect. Envoy's admin answers with a length or in chunks; both are read.
 */
/** Every answer the checks read is a few bytes; past this much the rest is not read. */
const MAX_ANSWER_BYTES = 8 * 1024;

/**
 * Rejects with code TIMEOUT ("no answer within N ms") when `timeoutMs` passes before the headers
 * are in; after them, answers with the body so far.
 */
export function httpGet(url: string, signal: AbortSignal, timeoutMs: number): Promise<HttpAnswer> {
  const { hostname, port, pathname, search, host } = new URL(url);
  const timeout = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port || 80),
      signal: AbortSignal.any([signal, timeout]),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    const answer = (complete: boolean): void => {
      try {
        resolve(parseResponse(Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES), complete));
      } catch (error) {
        reject(error);
      }
    };
    // write, not end: some servers drop a connection whose client has half-closed it before answering.
    socket.on('connect', () =>
      socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size < MAX_ANSWER_BYTES) return;
      socket.destroy();
      answer(false);
    });
    socket.on('error', (error) => {
      // Judged by the status line: an answer whose headers are in but whose body never ends is what arrived in time.
      if (timeout.aborted && Buffer.concat(chunks).includes('\r\n\r\n')) return answer(false);
      reject(
        timeout.aborted ? Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TIMEOUT' }) : error,
      );
    });
    socket.on('end', () => answer(true));
  });
}

/** Parses a whole answer, or (`complete` false) its first MAX_ANSWER_BYTES, whose body is then cut short. */
export function parseResponse(raw: Buffer, complete = true): HttpAnswer {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, Math.max(headerEnd, 0)).toString('latin1'));
  if (headerEnd < 0 || !status)
    throw new Error(complete ? 'malformed HTTP response' : `HTTP headers longer than ${MAX_ANSWER_BYTES} bytes`);
  const head = raw.subarray(0, headerEnd).toString('latin1').toLowerCase();
  const rest = raw.subarray(headerEnd + 4);
  return {
    status: Number(status[1]),
    body: /\r\ntransfer-encoding:\s*chunked/.test(head) ? dechunk(rest, complete) : rest.toString(),
  };
}

function dechunk(data: Buffer, complete: boolean): string {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    const size = lineEnd < 0 ? Number.NaN : Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size) && !complete) return Buffer.concat(parts).toString();
    if (Number.isNaN(size)) throw new Error('malformed chunked HTTP body');
    if (size === 0) return Buffer.concat(parts).toString();
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
