#!/usr/bin/env node
import { catchSignals } from './signals.ts';

// process.getBuiltinModule, not an ESM import: the ESM view of fs, net and util loads their lazy parts (fs/promises, readline…), 2.6 MB of idle memory (bench/footprint.ts).
const { parseArgs } = process.getBuiltinModule('node:util');

// `run` (once per task) and `health` (every 30 s, per ECS healthCheck) skip yargs, which costs
// about 14 MB and 30 ms; anything else, and any doubt, goes to the full command line. `run`
// catches signals before anything else loads: until then a SIGTERM would kill it undrained.
const argv = process.argv.slice(2);
const plain = plainCommand(argv);
const signals = plain?.command === 'run' ? catchSignals() : undefined;
const { logLevels } = await import('@task-helper/core/host');
if (
  plain &&
  (plain.options.logLevel === undefined || (logLevels as readonly string[]).includes(plain.options.logLevel))
) {
  const options = {
    config: plain.options.config,
    logLevel: plain.options.logLevel as (typeof logLevels)[number] | undefined,
  };
  if (signals) await (await import('./commands/run.ts')).run(options, signals);
  else await (await import('./commands/health.ts')).health(options);
} else await (await import('./cli-yargs.ts')).main(argv, new URL('../package.json', import.meta.url));

function plainCommand(args: string[]) {
  try {
    const { positionals, values } = parseArgs({
      args,
      options: { config: { type: 'string' }, 'log-level': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const [command, ...rest] = positionals;
    if ((command !== 'run' && command !== 'health') || rest.length > 0) return undefined;
    return { command, options: { config: values.config, logLevel: values['log-level'] } };
  } catch {
    return undefined;
  }
}
