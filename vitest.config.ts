import { globSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources, as in tsconfig.base.json's customConditions;
// the rest are Vite's default server conditions but `module`: that one is for bundlers, and it sends
// packages such as @aws-sdk/core to builds Node cannot load (dist-es, extensionless imports).
const conditions = ['@task-helper/source', 'node', 'development|production'];

// Files under packages/*/test and examples/ that start the real CLI (or the simulator's) as a
// child process: the process tier. Every other file there is a unit test, which the unit tier's
// setup holds to that (test/support/unit-setup.ts).
const processTestsBesideUnits = [
  'packages/cli/test/cli.test.ts',
  'packages/cli/test/config-errors.test.ts',
  'packages/cli/test/signals.test.ts',
  'packages/cli/test/commands/*.test.ts',
  // A real FIFO, made by mkfifo.
  'packages/core/test/log-lines.test.ts',
  'packages/envoy-sim/test/cli.test.ts',
  'examples/custom-plugin/config-file.test.ts',
  'examples/ecs/task-definition.test.ts',
];
// Real Envoy or HAProxy, outside test/e2e and test/contract.
const envoyTestsElsewhere = ['examples/envoy/envoy-example.test.ts', 'examples/kubernetes/gateway-envoy.test.ts'];

// Tiers, slowest last; `make check` runs `unit` alone, `make test` all of them. Each tier waits
// for what it starts: a unit test only for fake timers, an end-to-end one for Envoy, HAProxy and load.
const tiers = [
  {
    name: 'unit',
    include: ['packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'test/docs/**/*.test.ts'],
    exclude: [...processTestsBesideUnits, ...envoyTestsElsewhere],
    setupFiles: ['test/support/unit-setup.ts'],
    testTimeout: 10_000,
    hookTimeout: 10_000,
  },
  {
    name: 'process',
    include: [
      ...processTestsBesideUnits,
      'test/start/**/*.test.ts',
      'test/drain/**/*.test.ts',
      'test/image/**/*.test.ts',
      'test/consumer/**/*.test.ts',
    ],
    globalSetup: ['test/support/build-once.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
  {
    name: 'envoy',
    include: ['test/e2e/**/*.test.ts', 'test/contract/**/*.test.ts', ...envoyTestsElsewhere],
    exclude: ['test/e2e/aws-*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
  {
    name: 'aws',
    include: ['test/aws/**/*.test.ts', 'test/e2e/aws-*.test.ts'],
    globalSetup: ['test/support/build-once.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
  {
    name: 'container',
    include: ['test/container/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
  {
    // The real Kubernetes node (scripts/k8s-node.sh) and the manifests of examples/kubernetes/.
    name: 'k8s',
    include: ['test/k8s/**/*.test.ts'],
    globalSetup: ['test/support/k8s-setup.ts'],
    // One node for the tier: its files take turns, so no drain competes with another's for 2 cores.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
];

// A test file in no tier would never run, and one in two would run twice: refuse both here.
const matching = (include: string[], exclude: string[] = []) =>
  globSync(include, { cwd: import.meta.dirname, exclude: [...configDefaults.exclude, ...exclude] });
const tiersOf = new Map<string, string[]>();
for (const tier of tiers) {
  for (const file of matching(tier.include, tier.exclude)) tiersOf.set(file, [...(tiersOf.get(file) ?? []), tier.name]);
}
const misplaced = matching(['{packages/*/test,test,examples}/**/*.test.ts']).filter(
  (file) => tiersOf.get(file)?.length !== 1,
);
if (misplaced.length > 0) {
  const where = misplaced.map((file) => `${file} (${tiersOf.get(file)?.join(', ') || 'no tier'})`);
  throw new Error(`vitest.config.ts: each test file belongs to exactly one tier: ${where.join('; ')}`);
}

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    setupFiles: ['test/support/vitest-setup.ts'],
    projects: tiers.map(({ exclude = [], ...tier }) => ({
      extends: true,
      test: { ...tier, exclude: [...configDefaults.exclude, ...exclude] },
    })),
  },
});
