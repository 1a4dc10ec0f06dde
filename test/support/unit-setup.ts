import { vi } from 'vitest';

// The unit tier (`make check`) starts no process: a test that does belongs to the process tier,
// listed in vitest.config.ts. Failing here keeps the fast loop fast when a test moves or is added.
vi.mock('node:child_process', async (original) => {
  const real = await original<typeof import('node:child_process')>();
  const refuse = (name: string) => () => {
    throw new Error(
      `child_process.${name} in a unit test: unit tests start no process; list this file in the process tier (vitest.config.ts)`,
    );
  };
  const names = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;
  return { ...real, ...Object.fromEntries(names.map((name) => [name, refuse(name)])) };
});
