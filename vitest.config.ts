import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // test/.cache holds a debootstrapped Debian root (with its own /proc while in use).
    exclude: [...configDefaults.exclude, 'test/.cache/**'],
    globalSetup: ['test/global-setup.ts'],
    // Root tests share one host (users, /etc/ssh, /srv): run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Ink's CI mode blanks lastFrame() on unmount (STYLE.md).
    env: { CI: "false", JW_TEST_CI: process.env.CI ?? "" },
    // The JSON file lets .ci/run print a plain 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
