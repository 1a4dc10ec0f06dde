// `make demo`: a real drain on loopback. A toy app behind the Envoy simulator, callers sending
// requests through it, the helper with short timings, then SIGTERM, as ECS would send it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startEnvoySim, startToyApp } from '@task-helper/envoy-sim';
import { prettyFactory } from 'pino-pretty';

const DRAIN_DELAY = 2;
const DRAIN_TIMEOUT = 3;
const CLI = path.resolve(import.meta.dirname, '../../packages/cli/src/cli.ts');

const app = await startToyApp();
const envoy = await startEnvoySim({ upstream: app.url });
const pretty = prettyFactory({
  colorize: true,
  singleLine: true,
  translateTime: 'HH:MM:ss.l',
  ignore: 'pid,hostname,phase,plugin,hook,steps',
  messageFormat: '{if plugin}[{plugin} {hook}] {end}{msg}',
});
const say = (text: string): void => void process.stdout.write(`\x1b[1m▶ ${text}\x1b[0m\n`);

say(`toy app on ${app.url}, Envoy simulator: admin ${envoy.adminUrl}, listener ${envoy.listenerUrl}`);
say(`starting the helper: DRAIN_DELAY=${DRAIN_DELAY} DRAIN_TIMEOUT=${DRAIN_TIMEOUT}, no config file (the ECS default)`);
const helper = spawn(process.execPath, ['--conditions=@task-helper/source', CLI, 'run'], {
  cwd: tmpdir(),
  env: {
    PATH: process.env.PATH,
    DRAIN_DELAY: String(DRAIN_DELAY),
    DRAIN_TIMEOUT: String(DRAIN_TIMEOUT),
    ENVOY_ADMIN_URL: envoy.adminUrl,
    PORT: String(app.port),
    STOP_TIMEOUT: '30',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const exited = once(helper, 'close');
const ready = new Promise<void>((resolve) =>
  createInterface({ input: helper.stdout }).on('line', (line) => {
    process.stdout.write(pretty(line));
    if (line.includes('"msg":"ready"')) resolve();
  }),
);

// Callers: a request every 50 ms through Envoy's listener, counting what does not come back 200.
const traffic = { sent: 0, failed: 0 };
const caller = setInterval(() => {
  traffic.sent += 1;
  fetch(`${envoy.listenerUrl}/`).then(
    async (response) => void (await response.arrayBuffer(), response.status !== 200 && (traffic.failed += 1)),
    () => void (traffic.failed += 1),
  );
}, 50);

await ready;
const signalAt = Date.now();
say('sending SIGTERM to the helper, as ECS does when it stops the task');
helper.kill('SIGTERM');
const [code] = (await exited) as [number | null];
const exitAt = Date.now();
clearInterval(caller);

const fail = envoy.calls.find((call) => call.path === '/healthcheck/fail');
const at = (ms: number): string => `+${(ms / 1000).toFixed(3)} s`.padStart(10);
say('timeline');
console.log(`${at(0)}  SIGTERM sent`);
console.log(fail ? `${at(fail.at - signalAt)}  POST /healthcheck/fail → ${fail.status} (Envoy now ${envoy.state()})` : '    never  POST /healthcheck/fail was not sent');
console.log(`${at(exitAt - signalAt)}  helper exited with code ${code} (ECS would now stop Envoy and the app)`);
console.log(`           requests through Envoy: ${traffic.sent} sent, ${traffic.failed} failed`);

await envoy.close();
await app.close();
process.exit(code === 0 && fail?.status === 200 ? 0 : 1);
