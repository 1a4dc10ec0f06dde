import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Vitest global setup of the tiers that run built code: the packages' JavaScript (`tsc -b`, what
 * `pnpm pack` publishes and node_modules/.bin/task-helper runs) and the image's bundle
 * (scripts/build.ts, dist/task-helper), built once per run before any worker starts, so no two test
 * files rebuild them at the same moment. Both tiers name this file; the first build serves both.
 */
export default function setup(): void {
  const state = globalThis as { taskHelperBuilt?: true };
  if (state.taskHelperBuilt) return;
  for (const args of [['node_modules/typescript/bin/tsc', '-b', 'tsconfig.build.json'], ['scripts/build.ts']]) {
    execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  state.taskHelperBuilt = true;
}
