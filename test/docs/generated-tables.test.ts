// The docs' tables are generated from the code (scripts/doc-tables.ts, `pnpm run docs`): these fail while
// a committed table differs from what the code declares, so the docs cannot drift from it.
import { describe, expect, it } from 'vitest';
import { defaultPlugins } from '../../packages/cli/src/default-config.ts';
import {
  blockKinds,
  documentedPlugins,
  generatedDocs,
  readDoc,
  renderDoc,
  settingRows,
} from '../../scripts/doc-tables.ts';

describe('the generated tables in the docs', () => {
  it.each(generatedDocs())('%s holds the tables the code declares (else run pnpm run docs)', (file) => {
    const text = readDoc(file);
    expect(renderDoc(text, file)).toBe(text);
  });

  it('keep one copy of each full table, which the other docs link to', () => {
    const kinds = generatedDocs().flatMap((file) => blockKinds(readDoc(file)).map((kind) => `${file}: ${kind}`));
    expect(kinds.filter((k) => /: (settings|exit-codes|budget)$/.test(k)).sort()).toEqual([
      'docs/architecture.md: budget',
      'docs/operations.md: exit-codes',
      'docs/operations.md: settings',
    ]);
  });

  it('rewrite a table that has drifted, and nothing outside the blocks', () => {
    const text = readDoc('docs/operations.md');
    const drifted = text.replace(
      /^\| `DRAIN_DELAY` \| `drainDelay` \| 40 \|/m,
      '| `DRAIN_DELAY` | `drainDelay` | 30 |',
    );
    expect(drifted).not.toBe(text);
    expect(renderDoc(drifted)).toBe(text);
  });

  it('refuse an unknown kind or a marker without its other half', () => {
    expect(() => renderDoc('<!-- generated: nonsense -->\n<!-- end generated -->\n')).toThrow(
      /unknown generated block "nonsense"; known: settings, exit-codes, budget, kubernetes-budget, task-definition/,
    );
    expect(() => renderDoc('text\n<!-- generated: settings -->\nno end\n', 'x.md')).toThrow(
      /^x\.md: "<!-- generated: settings -->" is not part of a block/,
    );
    expect(() => renderDoc('<!-- generated: settings NO_SUCH_VARIABLE -->\n<!-- end generated -->\n')).toThrow(
      'settings table: no setting reads NO_SUCH_VARIABLE',
    );
  });
});

describe('the exit-code table', () => {
  it('gives 128+n for every stop signal, SIGQUIT included', () => {
    expect(renderDoc('<!-- generated: exit-codes -->\n<!-- end generated -->')).toContain(
      '(130 for SIGINT, 131 for SIGQUIT, 143 for SIGTERM)',
    );
  });
});

describe('the settings table', () => {
  it('lists every plugin the CLI runs by default', () => {
    const documented = documentedPlugins.map((factory) => factory.pluginName).sort();
    expect(documented).toEqual(
      defaultPlugins()
        .map((plugin) => plugin.name)
        .sort(),
    );
  });

  it('has a description for every setting, and core STOP_TIMEOUT, START_TIMEOUT, PRESTOP_PORT, PRESTOP_HOST and LOG_LEVEL', () => {
    const rows = settingRows();
    expect(rows.filter((row) => row.description.trim() === '')).toEqual([]);
    expect(rows.filter((row) => row.plugins.includes('core')).map((row) => row.env)).toEqual([
      'STOP_TIMEOUT',
      'START_TIMEOUT',
      'PRESTOP_PORT',
      'PRESTOP_HOST',
      'LOG_LEVEL',
    ]);
  });

  it("in the README, are the ones the example task definition's helper container sets", () => {
    const { containerDefinitions } = JSON.parse(readDoc('examples/ecs/task-definition.json')) as {
      containerDefinitions: Array<{ name: string; environment?: Array<{ name: string }> }>;
    };
    const helper = containerDefinitions.find((c) => c.name === 'task-helper');
    const subset = blockKinds(readDoc('README.md')).find((kind) => kind.startsWith('settings '));
    expect(subset?.split(' ').slice(1).sort()).toEqual(helper?.environment?.map((e) => e.name).sort());
  });

  it('shows a default taken from the ECS task in words, and one row for a setting two plugins share', () => {
    const row = (env: string) => settingRows().find((r) => r.env === env);
    expect(row('CLOUD_MAP_INSTANCE_ID')?.default).toBe('the task id');
    expect(row('ENVOY_ADMIN_URL')?.default).toBe('`http://127.0.0.1:9901`');
    expect(row('AWS_REGION')).toMatchObject({ default: "the task's region", plugins: ['cloud-map', 'target-groups'] });
  });
});
