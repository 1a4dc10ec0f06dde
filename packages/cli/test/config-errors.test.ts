import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHelper } from '../../../test/support/helper-process.ts';
import { tempDir } from '../../../test/support/temp-config.ts';

const PROBE = path.resolve(import.meta.dirname, '../../../test/support/fixtures/probe.ts');

/** Each bad config stops the helper before `ready`, with exit 78 and one fatal line naming the culprit. */
async function expectConfigError(
  files: Record<string, string | object>,
  args: string[],
  culprit: RegExp,
  env: Record<string, string> = {},
) {
  const cwd = tempDir(files);
  const { code, lines, stderr } = await runHelper(['run', ...args], { cwd, env });
  expect(code).toBe(78);
  expect(lines.some((l) => l.msg === 'ready')).toBe(false);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 'fatal', exitCode: 78 });
  expect(lines[0]?.msg).toMatch(culprit);
  expect(stderr).toBe('');
}

describe('bad configuration: exit 78, one line, before ready', () => {
  it('a --config file that does not exist', () =>
    expectConfigError({}, ['--config', 'nope.json'], /^--config nope\.json: no such file/));

  it('a syntactically broken JSON file', () =>
    expectConfigError(
      { '.task-helperrc.json': '{ "stopTimeout": 12,, }' },
      [],
      /\.task-helperrc\.json could not be loaded: .+; fix the file/,
    ));

  it('a TypeScript config file that does not parse', () =>
    expectConfigError(
      { 'task-helper.config.ts': 'export default {{ broken' },
      [],
      /task-helper\.config\.ts could not be loaded: .+/,
    ));

  it('a config file that throws while loading', () =>
    expectConfigError(
      { 'task-helper.config.mjs': 'throw new Error("no such secret");' },
      [],
      /task-helper\.config\.mjs could not be loaded: no such secret/,
    ));

  it('an unknown top-level key', () =>
    expectConfigError(
      { 'c.json': { stopTimeout: 30, plugin: [] } },
      ['--config', 'c.json'],
      /c\.json has unknown option "plugin"; known options: stopTimeout, startTimeout, preStopPort, preStopHost, logLevel, plugins/,
    ));

  it('a wrong type', () =>
    expectConfigError(
      { 'c.json': { stopTimeout: '30' } },
      ['--config', 'c.json'],
      /c\.json: stopTimeout="30" is invalid: expected a number of seconds ≥ 5 /,
    ));

  it('a negative duration', () =>
    expectConfigError({ 'c.json': { stopTimeout: -5 } }, ['--config', 'c.json'], /stopTimeout=-5 is invalid/));

  it('a bad environment override', () =>
    expectConfigError(
      { 'c.json': { plugins: [] } },
      ['--config', 'c.json'],
      /STOP_TIMEOUT="2 minutes" is invalid: expected a number of seconds ≥ 5 \(.*\), such as 120/,
      { STOP_TIMEOUT: '2 minutes' },
    ));

  it('a bad LOG_LEVEL', () =>
    expectConfigError(
      { 'c.json': { plugins: [] } },
      ['--config', 'c.json'],
      /LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent/,
      { LOG_LEVEL: 'loud' },
    ));

  it('an unknown plugin module', () =>
    expectConfigError(
      { 'c.json': { plugins: ['@task-helper/plugin-nope'] } },
      ['--config', 'c.json'],
      /plugins\[0\]: cannot find plugin "@task-helper\/plugin-nope" from .+; install it or fix the name/,
    ));

  it('a plugin path that does not exist', () =>
    expectConfigError(
      { 'c.json': { plugins: ['./plugins/missing.ts'] } },
      ['--config', 'c.json'],
      /plugins\[0\]: plugin file .+missing\.ts does not exist/,
    ));

  it('a plugin entry of the wrong shape', () =>
    expectConfigError(
      { 'c.json': { plugins: [42] } },
      ['--config', 'c.json'],
      /plugins\[0\]=42 is invalid: expected a plugin object, a module name or path, or \[module, options\]/,
    ));

  it('a module that is not a plugin', () =>
    expectConfigError(
      { 'c.json': { plugins: ['./not-a-plugin.mjs'] }, 'not-a-plugin.mjs': 'export const x = 1;' },
      ['--config', 'c.json'],
      /"\.\/not-a-plugin\.mjs" must default-export a function that returns a plugin/,
    ));

  it('a bad option of a built-in plugin, named with the plugin', () =>
    expectConfigError(
      {
        'c.json': {
          plugins: [
            [PROBE, {}],
            ['@task-helper/plugin-delay', { drainDelay: -1 }],
          ],
        },
      },
      ['--config', 'c.json'],
      /plugin "delay": drainDelay=-1 is invalid: expected a number of seconds ≥ 0, such as 40/,
    ));
});
