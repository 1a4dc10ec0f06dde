import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPLACEMENTS_ACTIONS } from '../../packages/plugin-aws/src/service-view.ts';
import { TASK_DEFINITION_FILE, container, loadTaskDefinition } from '../ecs/task-definition.ts';

// Terraform is not needed to run these: they read the HCL as text, which is enough for the few
// expressions that tie it to the JSON. `terraform validate` in CI would check the rest.
const read = (file: string): string => readFileSync(path.join(import.meta.dirname, file), 'utf8');
const main = read('main.tf');
const task = loadTaskDefinition();

/** Each `variable "name" { … default = "…" }` block's string default. */
function variableDefaults(hcl: string): Record<string, string | undefined> {
  const blocks = [...hcl.matchAll(/^variable "([\w-]+)" \{\n([\s\S]*?)^\}/gm)];
  return Object.fromEntries(
    blocks.map(([, name, body]) => [name, /^\s*default\s*=\s*"([^"]*)"/m.exec(body ?? '')?.[1]]),
  );
}

/** The right-hand side of `key = value` inside the named block (one line). */
function attribute(hcl: string, block: string, key: string): string | undefined {
  const body = new RegExp(String.raw`^${block} \{\n([\s\S]*?)^\}`, 'm').exec(hcl)?.[1] ?? '';
  return new RegExp(String.raw`^\s*${key}\s*=\s*(.+?)\s*$`, 'm').exec(body)?.[1];
}

describe('the Terraform example', () => {
  it('reads the JSON task definition itself, so the two cannot drift', () => {
    const [, file] = /jsondecode\(file\("\$\{path\.module\}\/([^"]+)"\)\)/.exec(main) ?? [];
    expect(file).toBeDefined();
    expect(path.resolve(import.meta.dirname, file!)).toBe(TASK_DEFINITION_FILE);
  });

  it('takes every task-level field from the JSON, except the role, which differs per account', () => {
    const resource = 'resource "aws_ecs_task_definition" "task"';
    expect(attribute(main, resource, 'family')).toBe('local.task.family');
    expect(attribute(main, resource, 'network_mode')).toBe('local.task.networkMode');
    expect(attribute(main, resource, 'requires_compatibilities')).toBe('local.task.requiresCompatibilities');
    expect(attribute(main, resource, 'cpu')).toBe('local.task.cpu');
    expect(attribute(main, resource, 'memory')).toBe('local.task.memory');
    expect(attribute(main, resource, 'execution_role_arn')).toBe('var.execution_role_arn');
    expect(attribute(main, resource, 'container_definitions')).toBe('jsonencode(local.containers)');
  });

  it("has an image variable for exactly the JSON's containers, defaulting to the JSON's images", () => {
    const images = /^\s*images = \{\n([\s\S]*?)^\s*\}/m.exec(main)?.[1] ?? '';
    const entries: Record<string, string> = Object.fromEntries(
      [...images.matchAll(/^\s*"?([\w-]+)"?\s*=\s*var\.(\w+)/gm)].map(([, name, variable]) => [name!, variable!]),
    );
    expect(Object.keys(entries).sort()).toEqual(task.containerDefinitions.map((c) => c.name).sort());
    const defaults = variableDefaults(read('variables.tf'));
    for (const [name, variable] of Object.entries(entries)) {
      expect(defaults[variable], `var.${variable}`).toBe(container(task, name).image);
    }
  });

  it("defaults the log group and region to the JSON's, and only overrides those two log options", () => {
    const defaults = variableDefaults(read('variables.tf'));
    for (const c of task.containerDefinitions) {
      expect(c.logConfiguration?.options?.['awslogs-group'], c.name).toBe(defaults.log_group_name);
      expect(c.logConfiguration?.options?.['awslogs-region'], c.name).toBe(defaults.aws_region);
    }
    const overridden = [...main.matchAll(/^\s*"(awslogs-[\w-]+)"\s*=/gm)].map(([, option]) => option);
    expect(overridden.sort()).toEqual(['awslogs-group', 'awslogs-region']);
  });

  it('defaults the Envoy image to the one built from examples/envoy, and says so', () => {
    const block = /^variable "envoy_image" \{\n([\s\S]*?)^\}/m.exec(read('variables.tf'))?.[1] ?? '';
    expect(block).toMatch(/description\s*=\s*".*examples\/envoy/);
    expect(variableDefaults(read('variables.tf')).envoy_image).toMatch(/\/orders-envoy:\d+\.\d+\.\d+$/);
  });

  it('with drain_delay_until_replacements, sets DRAIN_DELAY_UNTIL and allows every action the helper then needs', () => {
    const plugins = read('aws-plugins.tf');
    expect(plugins).toMatch(
      /var\.drain_delay_until_replacements \? \[\{ name = "DRAIN_DELAY_UNTIL", value = "replacements" \}\] : \[\]/,
    );
    for (const action of REPLACEMENTS_ACTIONS) expect(plugins, action).toContain(`"${action}"`);
    expect(attribute(plugins, 'resource "aws_iam_role_policy" "drain_delay_until"', 'count')).toBe(
      'var.drain_delay_until_replacements ? 1 : 0',
    );
  });
});
