import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['test/support/vitest-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
