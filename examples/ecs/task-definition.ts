import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The few fields of an ECS task definition these examples check, as RegisterTaskDefinition spells them. */
export interface ContainerDefinition {
  name: string;
  image: string;
  essential?: boolean;
  command?: string[];
  portMappings?: Array<{ containerPort: number; protocol?: string }>;
  dependsOn?: Array<{ containerName: string; condition: string }>;
  environment?: Array<{ name: string; value: string }>;
  healthCheck?: { command: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number };
  stopTimeout?: number;
  user?: string;
  readonlyRootFilesystem?: boolean;
  linuxParameters?: { initProcessEnabled?: boolean };
  logConfiguration?: { logDriver: string; options?: Record<string, string> };
}

export interface TaskDefinition {
  family: string;
  networkMode: string;
  requiresCompatibilities: string[];
  cpu: string;
  memory: string;
  executionRoleArn: string;
  containerDefinitions: ContainerDefinition[];
}

export const TASK_DEFINITION_FILE = path.join(import.meta.dirname, 'task-definition.json');

export function loadTaskDefinition(file: string = TASK_DEFINITION_FILE): TaskDefinition {
  return JSON.parse(readFileSync(file, 'utf8')) as TaskDefinition;
}

export function container(task: TaskDefinition, name: string): ContainerDefinition {
  const found = task.containerDefinitions.find((c) => c.name === name);
  if (!found) throw new Error(`no container named "${name}" in the task definition`);
  return found;
}

/** The container's environment as the process inside it sees it. */
export function environmentOf(definition: ContainerDefinition): Record<string, string> {
  return Object.fromEntries((definition.environment ?? []).map(({ name, value }) => [name, value]));
}
