#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import packageJson from '../package.json' with { type: 'json' };
import { ExitCode } from './exit-codes.ts';
import { logLevels, type LogLevel } from './logger.ts';
import { run } from './run.ts';

await yargs(hideBin(process.argv))
  .scriptName('task-helper')
  .usage('$0 <command>\n\nRuns a task\'s drain sequence as plugin hooks: on SIGTERM, wait DRAIN_DELAY, fail Envoy\'s health check, wait DRAIN_TIMEOUT, exit.')
  .command(
    'run',
    'run onStart, then drain on SIGTERM or SIGINT',
    (command) =>
      command
        .option('config', { type: 'string', describe: 'config file (default: search for task-helper.config.* and .task-helperrc*, else the built-in plugins)' })
        .option('log-level', { type: 'string', choices: logLevels, describe: 'overrides LOG_LEVEL and the config file' }),
    (argv) => run({ config: argv.config, logLevel: argv.logLevel as LogLevel | undefined }),
  )
  .demandCommand(1, 'Name a command, such as: task-helper run')
  .strict()
  .fail((message, error, instance) => {
    if (error) throw error;
    instance.showHelp();
    process.stderr.write(`\ntask-helper: ${message}\n`);
    process.exit(ExitCode.usage);
  })
  .version(packageJson.version)
  .help()
  .parseAsync();
