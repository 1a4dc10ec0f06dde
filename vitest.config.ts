import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources, as in tsconfig.base.json's customConditions;
// the rest are Vite's default server conditions but `module`: that one is for bundlers, and it sends
// packages such as @aws-sdk/core to builds Node cannot load (dist-es, extensionless imports).
const conditions = ['@task-helper/source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['test/support/vitest-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
