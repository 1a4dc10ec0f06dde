// Measures what closing Envoy's inbound listeners at the end of the drain (ENVOY_CLOSE_INBOUND)
// changes for each kind of caller, on real Envoy and a real HAProxy, and prints the Markdown table
// docs/operations.md shows: failed requests per stop, with the close and without it, each run.
//   make late-callers-table   (RUNS=5 by default)
import os from 'node:os';
import { envoyRelease } from '../test/support/envoy-binary.ts';
import { haproxyVersion } from '../test/support/haproxy.ts';
import { runLateCallers, type CallerKind } from '../test/support/late-callers.ts';

const runs = Number(process.env.RUNS ?? 5);
// HAProxy and the active health checks mark task A failed within inter × fall = 1 s of /healthcheck/fail.
const helperEnv = { DRAIN_DELAY: '0', DRAIN_TIMEOUT: '2' };

const callers: Array<{ name: string; caller: CallerKind }> = [
  { name: 'HAProxy, active health checks (500 ms × 2), `retries 0`', caller: { kind: 'haproxy' } },
  {
    name: 'Envoy, active health checks (500 ms × 2) and outlier detection',
    caller: { kind: 'envoy', activeHealthCheck: true },
  },
  { name: 'Envoy, outlier detection only, no retries', caller: { kind: 'envoy', activeHealthCheck: false } },
  {
    name: "Envoy, outlier detection only, `retry_on: connect-failure`, Envoy's default `max_retries: 3`",
    caller: { kind: 'envoy', activeHealthCheck: false, retryOn: 'connect-failure' },
  },
  {
    name: 'Envoy, outlier detection only, `retry_on: connect-failure`, `max_retries: 50`',
    caller: { kind: 'envoy', activeHealthCheck: false, retryOn: 'connect-failure', maxRetries: 50 },
  },
  {
    name: 'Envoy, outlier detection only, `retry_on: connect-failure,reset` (idempotent requests), `max_retries: 50`',
    caller: { kind: 'envoy', activeHealthCheck: false, retryOn: 'connect-failure,reset', maxRetries: 50 },
  },
];

const cell = (counts: number[]) =>
  `${counts.join(', ')} (median ${[...counts].sort((a, b) => a - b)[counts.length >> 1]})`;

const rows: string[] = [];
for (const { name, caller } of callers) {
  const counts: Record<'true' | 'false', number[]> = { true: [], false: [] };
  for (let run = 0; run < runs; run += 1) {
    for (const close of ['true', 'false'] as const) {
      const result = await runLateCallers({ caller, helperEnv: { ...helperEnv, ENVOY_CLOSE_INBOUND: close } });
      if (result.exit.code !== 0) throw new Error(`helper exited ${result.exit.code}:\n${result.describe()}`);
      counts[close].push(result.failures.length);
      process.stderr.write(
        `${name}, ENVOY_CLOSE_INBOUND=${close}: ${result.failures.length} failed ${JSON.stringify(result.failed)} ${JSON.stringify(result.caller ?? {})}\n`,
      );
    }
  }
  rows.push(`| ${name} | ${cell(counts.true)} | ${cell(counts.false)} |`);
}

console.log('| caller | failed requests per stop, `ENVOY_CLOSE_INBOUND=true` (default) | `false` |');
console.log('|---|---|---|');
for (const row of rows) console.log(row);
console.log(
  `\n${runs} stops each, 4 callers sending one request after another through the caller (\`test/support/late-callers.ts\`), on a machine shared with other test runs; Envoy ${envoyRelease()}, ${haproxyVersion()}. Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()} (${os.platform()} ${os.release()}) by \`make late-callers-table\`.`,
);
