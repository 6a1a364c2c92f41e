import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './dispatch.js';

/**
 * The command lines the json-shape-*.test.ts files pin, read from their source: the string
 * literals each `pin([...])` call starts with, joined by spaces ("target show alpha").
 */
function pinnedLines(): string[] {
  const dir = new URL('.', import.meta.url);
  const files = readdirSync(dir).filter((f) => /^json-shape-.+\.test\.ts$/.test(f) && f !== 'json-shape-coverage.test.ts');
  return files.flatMap((f) =>
    [...readFileSync(new URL(f, dir), 'utf8').matchAll(/\bpin\(\[((?:\s*'[^']*',?)+)/g)].map((m) => [...m[1]!.matchAll(/'([^']*)'/g)].map((w) => w[1]).join(' ')),
  );
}

describe('binhostctl --json', () => {
  it('covers every command that prints JSON', () => {
    const pinned = pinnedLines();
    const covered = new Set(COMMANDS.filter((c) => pinned.some((line) => `${line} `.startsWith(`${c.name} `))).map((c) => c.name));
    expect(COMMANDS.map((c) => c.name).filter((n) => !covered.has(n))).toEqual(['completion']);
  });
});
