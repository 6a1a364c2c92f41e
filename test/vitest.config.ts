import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@binhost/source'] },
  ssr: { resolve: { conditions: ['@binhost/source'] } },
  test: { include: ['**/*.test.ts'], exclude: ['node_modules/**'], testTimeout: 30_000, hookTimeout: 30_000 },
});
