import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` talks to the real local stack
// (Kafka in KRaft mode, nats-server, embedded ClickHouse) that the global setup starts.
export default defineConfig({
  test: {
    // Integration tests share one broker and a 2-core machine: test files run one at a time (each in
    // its own process, which also gives each file its own embedded ClickHouse).
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['contracts/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'load/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['services/*/test/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          globalSetup: ['test/setup/stack.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
