#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startEnvoySim } from './sim.ts';
import type { EnvoySimOptions } from './types.ts';

const USAGE =
  'usage: envoy-sim [--admin-port 9901] [--listener-port 15000] [--upstream http://127.0.0.1:8080]\n' +
  '                 [--health-path /ping/ping] [--stat-prefix ingress] [--initializing-ms N]\n' +
  '                 [--drain-time-s N] [--stat-set 1.40|1.29] [--host 127.0.0.1]\n';

function parse(): EnvoySimOptions {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      'admin-port': { type: 'string' },
      'listener-port': { type: 'string' },
      upstream: { type: 'string' },
      'health-path': { type: 'string' },
      'stat-prefix': { type: 'string' },
      'initializing-ms': { type: 'string' },
      'drain-time-s': { type: 'string' },
      'stat-set': { type: 'string' },
    },
  });
  const int = (name: keyof typeof values) => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${raw}`);
    return n;
  };
  const statSet = values['stat-set'];
  if (statSet !== undefined && statSet !== '1.40' && statSet !== '1.29')
    throw new Error(`--stat-set must be 1.40 or 1.29, got ${statSet}`);
  return {
    statSet,
    host: values.host,
    adminPort: int('admin-port'),
    listenerPort: int('listener-port'),
    upstream: values.upstream,
    healthPath: values['health-path'],
    statPrefix: values['stat-prefix'],
    initializingMs: int('initializing-ms'),
    drainTimeS: int('drain-time-s'),
  };
}

const log = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

function parseOrExit(): EnvoySimOptions {
  try {
    return parse();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const sim = await startEnvoySim(parseOrExit());
log({ msg: 'envoy-sim ready', adminUrl: sim.adminUrl, listenerUrl: sim.listenerUrl });
sim.on('admin', ({ method, path, status, at }) => log({ msg: 'admin', method, path, status, at }));
// After /quitquitquit the sim has closed everything, so the event loop empties and the exit code is 0.

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0));
  });
}
