#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startToyApp } from './toy-app.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    'health-path': { type: 'string' },
  },
});
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0)) {
  process.stderr.write(
    `--port must be a non-negative integer, got ${values.port}\nusage: toy-app [--port 8080] [--health-path /ping/ping] [--host 127.0.0.1]\n`,
  );
  process.exit(2);
}

const app = await startToyApp({ host: values.host, port, healthPath: values['health-path'] });
process.stdout.write(`${JSON.stringify({ msg: 'toy-app ready', url: app.url })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
