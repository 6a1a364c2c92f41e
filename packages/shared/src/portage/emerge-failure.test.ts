import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explainEmergeFailure, findEmergeFailure } from './emerge-failure.js';

const transcripts = fileURLToPath(new URL('../../../../test/fixtures/portage/transcripts/', import.meta.url));
const lines = (name: string) => readFileSync(`${transcripts}${name}`, 'utf8').split('\n');

describe('findEmergeFailure (real Portage 3.0.82 output)', () => {
  it.each([
    ['refused-unknown-key.txt', 'unknown-key', 'app-misc/greet-1.0'],
    ['refused-untrusted-key.txt', 'untrusted-key', 'app-misc/greet-1.0'],
    ['refused-unsigned.txt', 'unsigned', 'app-misc/greet-1.0'],
    ['refused-tampered.txt', 'bad-signature', 'app-misc/hello-1.0'],
    ['signed-build-without-binhost-keyring.txt', 'host-verify', 'app-misc/hello-1.0'],
    ['target-use-mismatch-refused.txt', 'use-mismatch', 'app-misc/greet-1.0'],
    ['target-pretend-missing.txt', 'no-binary', 'app-misc/broken'],
    ['binhost-build-broken.txt', 'phase', 'app-misc/broken-1.0'],
  ])('%s: %s of %s', (file, kind, subject) => {
    const f = findEmergeFailure(lines(file));
    expect(f).toMatchObject({ kind, subject });
  });

  it('names the phase, the die message and the compiler error of a failed build, without colour codes', () => {
    const f = findEmergeFailure(lines('binhost-build-broken.txt'))!;
    expect(f.phase).toBe('compile');
    expect(f.detail).toBe('compile failed (intentionally)');
    expect(f.lastLines.join('\n')).toContain('implicit declaration of function');
    expect(f.lastLines.join('\n')).not.toContain('\x1b[');
    expect(explainEmergeFailure(lines('binhost-build-broken.txt'))).toMatch(/^app-misc\/broken-1\.0 failed in the compile phase: compile failed \(intentionally\); last lines: /);
  });

  it('says which kind of signature refusal, in words', () => {
    expect(explainEmergeFailure(lines('refused-untrusted-key.txt'))).toBe(
      "signature refused for app-misc/greet-1.0: signed with a known key of undefined trust; the keyring's trustdb does not trust the host's key",
    );
    expect(explainEmergeFailure(lines('refused-tampered.txt'))).toContain('BAD signature ((none available))');
  });

  it('quotes "there are no ebuilds to satisfy" for an unknown atom, not the suggestions line after it (real Portage 3.0.83)', () => {
    const made = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage-made/${name}`, import.meta.url)), 'utf8').split('\n');
    expect(findEmergeFailure(made('emerge-no-ebuilds.txt'))).toMatchObject({ kind: 'no-ebuild', subject: 'nosuchpkg', detail: '' });
    expect(explainEmergeFailure(made('emerge-no-ebuilds.txt'))).toBe('there are no ebuilds to satisfy "nosuchpkg"');
    expect(explainEmergeFailure(made('emerge-no-ebuilds-similar.txt'))).toBe(
      'there are no ebuilds to satisfy "app-misc/nosuch"; maybe you meant app-misc/calc, app-misc/hello, app-misc/broken?',
    );
    // with ROOT set Portage names the root; a single suggestion has no "any of these"
    expect(explainEmergeFailure(['emerge: there are no ebuilds to satisfy "helo" for /var/roots/a/.', '', 'emerge: searching for similar names...', 'emerge: Maybe you meant app-misc/hello?'])).toBe(
      'there are no ebuilds to satisfy "helo"; maybe you meant app-misc/hello?',
    );
  });

  it('finds nothing in a successful run', () => {
    expect(findEmergeFailure(lines('signed-install-ok.txt'))).toBeUndefined();
    expect(findEmergeFailure(lines('binhost-build.txt'))).toBeUndefined();
  });
});
