import type { ChildProcess } from 'node:child_process';

/** SIGTERM, then SIGKILL if the process has not exited a second later: a test's server never outlives it. */
export async function terminate(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 1_000);
  await exited;
  clearTimeout(killer);
}
