// The tables the docs generate from the code, and the blocks they sit in: `<!-- generated: <kind> [args] -->`
// … `<!-- end generated -->`. `pnpm run docs` (scripts/docs.ts) rewrites them; test/docs checks they are current.
// Everything is read from what the code exports (the plugins' factories' `.settings`, core's settings, exit
// codes and stop schedule), never from source text.
import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appCheck } from '@task-helper/cli';
import type { ResolvedConfig, SettingDeclarations, TaskMetadata } from '@task-helper/core';
import {
  coreSettings,
  ExitCode,
  exitCodeMeanings,
  heldContainerKillMs,
  stopBudgetMs,
  stopSchedule,
} from '@task-helper/core/host';
import { cloudMap, targetGroups } from '@task-helper/plugin-aws';
import delay from '@task-helper/plugin-delay';
import envoy from '@task-helper/plugin-envoy';
import { forcedExitCode, STOP_SIGNALS } from '../packages/cli/src/signals.ts';

const root = path.resolve(import.meta.dirname, '..');

/** Every plugin the docs describe, in the settings table's order; core's own settings come last. */
export const documentedPlugins = [delay, envoy, appCheck, cloudMap, targetGroups] as const;

/** The files that may hold generated blocks, relative to the repository's root. */
export function generatedDocs(): string[] {
  return globSync(['README.md', 'docs/*.md', 'packages/*/README.md', 'examples/*/README.md'], { cwd: root }).sort();
}

const BLOCK = /^<!-- generated: ([\w-]+)((?: [^\s>]+)*) -->\n[\s\S]*?^<!-- end generated -->$/gm;

/** The document with every generated block rewritten from the code. */
export function renderDoc(text: string, where = 'document'): string {
  const rest = text.replace(BLOCK, '');
  const stray = /^<!-- (generated:|end generated)[^>]*-->/m.exec(rest);
  if (stray)
    throw new Error(
      `${where}: "${stray[0]}" is not part of a block "<!-- generated: <kind> [args] -->" … "<!-- end generated -->"`,
    );
  return text.replace(BLOCK, (_block, kind: string, args: string) => {
    const render = Object.hasOwn(renderers, kind) ? renderers[kind] : undefined;
    if (render === undefined)
      throw new Error(`${where}: unknown generated block "${kind}"; known: ${Object.keys(renderers).join(', ')}`);
    return `<!-- generated: ${kind}${args} -->\n\n${render(args.split(' ').filter(Boolean))}\n\n<!-- end generated -->`;
  });
}

/** The document's blocks, each as `kind` or `kind args`: test/docs checks each full table has one copy. */
export function blockKinds(text: string): string[] {
  return [...text.matchAll(BLOCK)].map(([, kind, args]) => `${kind}${args}`);
}

export function readDoc(file: string): string {
  return readFileSync(path.join(root, file), 'utf8');
}

const renderers: Record<string, (args: string[]) => string> = {
  settings: settingsTable,
  'exit-codes': exitCodeTable,
  budget: budgetTable,
  'kubernetes-budget': kubernetesBudgetTable,
  'task-definition': taskDefinitionSnippet,
};

interface SettingRow {
  env: string | undefined;
  option: string | undefined;
  default: string;
  plugins: string[];
  description: string;
}

/** `args`: the env names to show, in that order; none: every setting. */
function settingsTable(args: string[]): string {
  const rows = settingRows();
  const shown =
    args.length === 0
      ? rows
      : args.map((env) => {
          const row = rows.find((r) => r.env === env);
          if (row === undefined) throw new Error(`settings table: no setting reads ${env}`);
          return row;
        });
  return table(
    ['env', 'option', 'default', 'plugin', 'what'],
    shown.map((r) => [
      r.env === undefined ? '—' : code(r.env),
      r.option === undefined ? '— (env only)' : code(r.option),
      r.default,
      r.plugins.join(', '),
      r.description,
    ]),
  );
}

/**
 * A default a function computes is shown for a task whose metadata fields are these words, so a
 * default taken from the ECS task reads "the task id" rather than a made-up id.
 */
const DESCRIBED_TASK: TaskMetadata = {
  taskArn: 'the task ARN',
  taskId: 'the task id',
  cluster: "the task's cluster",
  taskDefinition: "the task's definition",
  containerName: "the helper's container name",
  privateIpv4: "the task's private IPv4 address",
  region: "the task's region",
  accountId: "the task's account",
  launchType: "the task's launch type",
};
const DESCRIBED_VALUES = new Set<unknown>(Object.values(DESCRIBED_TASK));
const DESCRIBED_CONFIG: ResolvedConfig = {
  file: undefined,
  stopTimeout: 120,
  startTimeout: 60,
  logLevel: 'info',
  plugins: [],
  settings: [],
  task: DESCRIBED_TASK,
};

export function settingRows(): SettingRow[] {
  const rows: SettingRow[] = [];
  const add = (plugin: string, row: Omit<SettingRow, 'plugins'>): void => {
    if (row.description === '')
      throw new Error(`plugin "${plugin}": setting ${row.env ?? row.option} has no description`);
    const same = rows.find(
      (r) =>
        r.env === row.env && r.option === row.option && r.default === row.default && r.description === row.description,
    );
    if (same) same.plugins.push(plugin);
    else rows.push({ ...row, plugins: [plugin] });
  };
  for (const factory of documentedPlugins) {
    for (const [key, declared] of Object.entries(factory.settings as SettingDeclarations)) {
      const fallback =
        typeof declared.default === 'function' ? declared.default({}, DESCRIBED_CONFIG) : declared.default;
      add(factory.pluginName, {
        env: declared.env,
        option: declared.envOnly ? undefined : key,
        default: declared.required ? 'required' : shown(fallback),
        description: declared.description ?? '',
      });
    }
  }
  for (const [key, declared] of Object.entries(coreSettings))
    add('core', {
      env: declared.env,
      option: key,
      default: shown(declared.default),
      description: declared.description,
    });
  return rows;
}

function shown(value: unknown): string {
  if (value === undefined) return 'unset';
  if (DESCRIBED_VALUES.has(value)) return value as string;
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(shown).join(', ');
  return typeof value === 'string' ? code(value) : String(value);
}

function exitCodeTable(): string {
  const forced = [...STOP_SIGNALS]
    .map((signal) => ({ signal, code: forcedExitCode(signal) }))
    .sort((a, b) => a.code - b.code)
    .map(({ signal, code }) => `${code} for ${signal}`)
    .join(', ');
  return table(
    ['code', 'meaning'],
    [
      ...Object.entries(ExitCode).map(([key, value]) => [
        String(value),
        exitCodeMeanings[key as keyof typeof ExitCode],
      ]),
      ['128+n', `${exitCodeMeanings.forced} (${forced})`],
    ],
  );
}

/** The budget's examples: the default waits under ECS's usual stop timeouts, and a short DRAIN_TIMEOUT. */
function budgetTable(): string {
  const drainDelay = delay.settings.drainDelay.default;
  const drainTimeout = delay.settings.drainTimeout.default;
  const cases = [
    { stopTimeout: 120, drainDelay, drainTimeout, note: " (Fargate's maximum)" },
    { stopTimeout: 60, drainDelay, drainTimeout, note: '' },
    { stopTimeout: 30, drainDelay, drainTimeout, note: " (ECS's default)" },
    { stopTimeout: 10, drainDelay, drainTimeout, note: '' },
    { stopTimeout: 10, drainDelay, drainTimeout: 1, note: '' },
  ];
  const s = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;
  return table(
    [
      '`STOP_TIMEOUT`',
      '`DRAIN_DELAY`, `DRAIN_TIMEOUT`',
      'margin',
      'action due (`actionDue`)',
      '`/healthcheck/fail` at (`DRAIN_DELAY` as run)',
      'callers get (`DRAIN_TIMEOUT` as run)',
      'waits end',
      'waits end at the latest (`abortAt`)',
      '`afterDrain` ends, exit (`exitAt`)',
    ],
    cases.map((c) => {
      const plan = stopSchedule({
        stopTimeoutMs: c.stopTimeout * 1000,
        delayMs: c.drainDelay * 1000,
        drainWaitMs: c.drainTimeout * 1000,
      });
      return [
        `${c.stopTimeout}${c.note}`,
        `${c.drainDelay}, ${c.drainTimeout}`,
        s(plan.stopTimeoutMs - plan.abortAtMs),
        s(plan.actionDueMs),
        s(plan.delayMs),
        s(plan.drainWaitMs),
        s(plan.delayMs + plan.drainWaitMs),
        s(plan.abortAtMs),
        s(plan.exitAtMs),
      ];
    }),
  );
}

/**
 * The budget on Kubernetes: the pod's grace period (STOP_TIMEOUT), the preStop call's schedule and
 * the kubelet's rules after it, for the example manifests' waits and plugin-delay's defaults.
 */
function kubernetesBudgetTable(): string {
  const cases = [
    { grace: 30, drainDelay: 5, drainTimeout: 15, note: " (the examples; Kubernetes' default)" },
    { grace: 60, drainDelay: 5, drainTimeout: 15, note: '' },
    { grace: 120, drainDelay: 40, drainTimeout: 40, note: '' },
    { grace: 30, drainDelay: 40, drainTimeout: 40, note: '' },
    { grace: 7, drainDelay: 40, drainTimeout: 40, note: ' (the least)' },
  ];
  const s = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;
  return table(
    [
      '`terminationGracePeriodSeconds` = `STOP_TIMEOUT`',
      '`DRAIN_DELAY`, `DRAIN_TIMEOUT`',
      "the helper's budget",
      '`/healthcheck/fail` at',
      'callers get',
      'the hook answered by (`exitAt`)',
      "the held container's SIGKILL at the latest",
      'SIGTERM with no preStop call: fail at, exit by',
    ],
    cases.map((c) => {
      const waits = { delayMs: c.drainDelay * 1000, drainWaitMs: c.drainTimeout * 1000 };
      const plan = stopSchedule({ stopTimeoutMs: stopBudgetMs(c.grace, 'preStop', true), ...waits });
      const signal = stopSchedule({ stopTimeoutMs: stopBudgetMs(c.grace, 'SIGTERM', true), ...waits });
      return [
        `${c.grace}${c.note}`,
        `${c.drainDelay}, ${c.drainTimeout}`,
        s(plan.stopTimeoutMs),
        s(plan.delayMs),
        s(plan.drainWaitMs),
        s(plan.exitAtMs),
        s(heldContainerKillMs(c.grace, plan.exitAtMs)),
        `${s(signal.actionDueMs)}, ${s(signal.exitAtMs)}`,
      ];
    }),
  );
}

/** `args`: the container's name in examples/ecs/task-definition.json, the file the tests check. */
function taskDefinitionSnippet([name]: string[]): string {
  const file = 'examples/ecs/task-definition.json';
  const { containerDefinitions } = JSON.parse(readDoc(file)) as { containerDefinitions: Array<{ name: string }> };
  const container = containerDefinitions.find((c) => c.name === name);
  if (container === undefined) throw new Error(`task-definition: ${file} has no container named ${name}`);
  return `\`\`\`json\n${compactJson(container, '')}\n\`\`\``;
}

/** JSON with each object or array on one line when it fits in 100 columns, as Biome writes the file. */
function compactJson(value: unknown, indent: string): string {
  const flat = JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ').replace(/\[ /g, '[').replace(/ \]/g, ']');
  if (indent.length + flat.length <= 100 || typeof value !== 'object' || value === null) return flat;
  const inner = `${indent}  `;
  const items = Array.isArray(value)
    ? value.map((item) => `${inner}${compactJson(item, inner)}`)
    : Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${compactJson(item, inner)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return `${open}\n${items.join(',\n')}\n${indent}${close}`;
}

function code(text: string): string {
  return `\`${text}\``;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}
