import yargs, { type Argv } from 'yargs';
import { health } from './commands/health.ts';
import { plan } from './commands/plan.ts';
import { run } from './commands/run.ts';
import { ExitCode, logLevels, type LogLevel } from '@task-helper/core/host';

const common = (command: Argv) =>
  command
    .option('config', {
      type: 'string',
      requiresArg: true,
      describe:
        'config file (default: task-helper.config.* or .task-helperrc* in the working folder, else the built-in plugins)',
    })
    .option('log-level', { type: 'string', choices: logLevels, describe: 'overrides LOG_LEVEL and the config file' });
const options = (argv: { config?: string | undefined; logLevel?: string | undefined }) => ({
  config: argv.config,
  logLevel: argv.logLevel as LogLevel | undefined,
});

/**
 * The full command line: help, version, `plan`, and every usage error. `packageJson` is the
 * package's own file, found from the bin (which stays put in the image's bundle, unlike this module).
 */
export async function main(argv: string[], packageJson: URL): Promise<void> {
  const { version } = JSON.parse(process.getBuiltinModule('node:fs').readFileSync(packageJson, 'utf8')) as {
    version: string;
  };
  await yargs(argv)
    .scriptName('task-helper')
    .usage(
      "$0 <command>\n\nDrains an Envoy sidecar task on SIGTERM: wait DRAIN_DELAY, fail Envoy's health check, wait DRAIN_TIMEOUT, exit.",
    )
    .command('run', 'run onStart, then drain on SIGTERM or SIGINT', common, (argv) => run(options(argv)))
    .command(
      'health',
      "exit 0 if Envoy is LIVE and the app answers (for the container's ECS healthCheck), else 1",
      common,
      (argv) => health(options(argv)),
    )
    .command(
      'plan',
      'print the settings, the hooks and the stop sequence to scale, without running anything',
      (command) => common(command).option('json', { type: 'boolean', describe: 'the same, as JSON' }),
      (argv) => plan({ ...options(argv), json: argv.json }),
    )
    .demandCommand(1, 'Name a command, such as: task-helper run')
    .strict()
    .fail((message, error, instance) => {
      // yargs reports some usage errors (a flag missing its value) as a YError: still a usage error.
      if (error && error.name !== 'YError') throw error;
      instance.showHelp();
      process.stderr.write(`\ntask-helper: ${message ?? error?.message}\n`);
      process.exit(ExitCode.usage);
    })
    .version(version)
    .help()
    .parseAsync();
}
