// Run by the helper in a child process at start (core's ecs-stop-timeout.ts): the ECS client
// costs the idle helper about 16 MB that would never be given back; here it leaves with the child.
// argv: the task metadata as JSON, the time allowed in ms. stdout: the answer as JSON.
import type { TaskMetadata } from '@task-helper/core';
import { readStopTimeout } from './ecs-stop-timeout.ts';

const [taskJson = '{}', timeoutMs = '3000'] = process.argv.slice(2);
const answer = await readStopTimeout(
  JSON.parse(taskJson) as TaskMetadata,
  process.env,
  AbortSignal.timeout(Number(timeoutMs)),
);
process.stdout.write(JSON.stringify(answer));
