import { defineConfig } from 'vitest/config';

// End-to-end tests boot real guests under TCG: minutes each, and they share one lab,
// so test files run one at a time (the lab's two hosts are the parallelism).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
