#!/usr/bin/env node
import { health } from './commands/health.ts';
import { run } from './commands/run.ts';
import { logLevels, type LogLevel } from '@task-helper/core/host';

// process.getBuiltinModule, not an ESM import: the ESM view of fs, net and util loads their lazy parts (fs/promises, readline…), 2.6 MB of idle memory (bench/footprint.ts).
const { parseArgs } = process.getBuiltinModule('node:util');

// `run` (once per task) and `health` (every 30 s, per ECS healthCheck) skip yargs, which costs
// about 14 MB and 30 ms; anything else, and any doubt, goes to the full command line.
const argv = process.argv.slice(2);
const plain = plainCommand(argv);
if (plain?.command === 'run') await run(plain.options);
else if (plain?.command === 'health') await health(plain.options);
else await (await import('./cli-yargs.ts')).main(argv, new URL('../package.json', import.meta.url));

function plainCommand(args: string[]) {
  try {
    const { positionals, values } = parseArgs({ args, options: { config: { type: 'string' }, 'log-level': { type: 'string' } }, allowPositionals: true, strict: true });
    const level = values['log-level'];
    const [command, ...rest] = positionals;
    if ((command !== 'run' && command !== 'health') || rest.length > 0) return undefined;
    if (level !== undefined && !logLevels.includes(level as LogLevel)) return undefined;
    return { command, options: { config: values.config, logLevel: level as LogLevel | undefined } };
  } catch {
    return undefined;
  }
}
