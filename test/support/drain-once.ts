import type { Stack } from './stack.ts';
import { startHelper, type HelperProcess } from './helper-process.ts';

export interface Drain {
  helper: HelperProcess;
  code: number | null;
  sigtermAt: number;
  exitAt: number;
  /** When the simulator received POST /healthcheck/fail, from SIGTERM; undefined if never. */
  failAfterMs: number | undefined;
  steps: Array<{ plugin: string; hook: string; outcome: string; error?: string; ms: number }>;
}

/** Starts `task-helper run` against `stack`, waits for `ready`, sends SIGTERM and waits for the exit. */
export async function drainOnce(stack: Stack, env: Record<string, string>, args: string[] = []): Promise<Drain> {
  const helper = startHelper(['run', ...args], { env: { ...stack.env, ...env } });
  await helper.waitForLog('ready');
  const sigtermAt = helper.kill('SIGTERM');
  const { code, at: exitAt } = await helper.exited;
  const fail = stack.envoy.calls.find((c) => c.method === 'POST' && c.path === '/healthcheck/fail');
  const steps = (helper.lines.find((l) => l.msg === 'drain finished')?.steps ?? []) as Drain['steps'];
  return { helper, code, sigtermAt, exitAt, failAfterMs: fail && fail.at - sigtermAt, steps };
}
