import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { userGuide } from '@binhost/cli';

describe("the README's binhostctl user guide", () => {
  it('has the current help text of every command (node scripts/cli-guide.mjs rewrites it)', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const begin = readme.indexOf('\n', readme.indexOf('<!-- binhostctl-guide:begin')) + 1;
    const end = readme.indexOf('<!-- binhostctl-guide:end -->');
    expect(begin).toBeGreaterThan(0);
    expect(readme.slice(begin, end)).toBe(await userGuide());
  });
});
