// Measures what each /drain_listeners call (and /healthcheck/fail) does to the example sidecar's
// inbound and outbound listeners on every Envoy of scripts/envoy-versions.txt, and prints the
// Markdown table packages/plugin-envoy/README.md shows (releases that behave alike share a column).
//   make drain-listeners-table   (installs the releases first: scripts/install-envoy-versions.sh)
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROBED_CALLS, probeCall, summary } from '../test/support/drain-listeners-probe.ts';

const root = path.resolve(import.meta.dirname, '..');
const releases = readFileSync(path.join(root, 'scripts/envoy-versions.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'));

const columns: Array<{ releases: string[]; cells: string[] }> = [];
for (const release of releases) {
  const binary = path.join(root, `.tools/envoy-${release}/bin/envoy`);
  if (!existsSync(binary)) throw new Error(`${binary} missing: run scripts/install-envoy-versions.sh`);
  const cells: string[] = [];
  // Three Envoys at a time: each must be looked at within its drain time on a busy machine.
  for (let i = 0; i < PROBED_CALLS.length; i += 3) {
    const outcomes = await Promise.all(PROBED_CALLS.slice(i, i + 3).map((call) => probeCall(call, { binary })));
    cells.push(...outcomes.map(summary));
  }
  process.stderr.write(`measured Envoy ${release}\n`);
  const last = columns.at(-1);
  if (last && last.cells.join() === cells.join()) last.releases.push(release);
  else columns.push({ releases: [release], cells });
}

const name = (group: string[]) => (group.length === 1 ? group[0] : `${group[0]} – ${group.at(-1)}`);
const cell = (text: string) => text.replaceAll('|', '\\|');
console.log(`| call | ${columns.map((c) => `Envoy ${name(c.releases)}`).join(' | ')} |`);
console.log(`|---|${columns.map(() => '---').join('|')}|`);
PROBED_CALLS.forEach((call, row) => {
  console.log(`| \`${call}\` | ${columns.map((c) => cell(c.cells[row]!)).join(' | ')} |`);
});
console.log(
  `\nMeasured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()} (${os.platform()} ${os.release()}) by \`make drain-listeners-table\`.`,
);
