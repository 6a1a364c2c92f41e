import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@binhost/source'] },
  ssr: { resolve: { conditions: ['@binhost/source'] } },
  test: { include: ['src/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 20_000 },
});
