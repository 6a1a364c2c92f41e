import { describe as group, expect, it } from 'vitest';
import { RemoveTargetResponse } from '@binhost/shared';
import { describe } from './target-remove.js';

const res = (fields: Partial<RemoveTargetResponse>) => RemoveTargetResponse.fromPartial(fields);

group('target remove output', () => {
  it('says which root was kept or removed, and why', () => {
    expect(describe('a', false, res({}))).toBe('target a removed\nit had no root\n');
    expect(describe('a', false, res({ root: 'a' }))).toBe('target a removed\nroot a kept, with its builds and snapshots (--purge deletes it)\n');
    expect(describe('a', true, res({ root: 'a', rootRemoved: true, cancelledBuilds: [3] }))).toBe(
      'target a removed\ncancelled build 3 of root a\nroot a removed, with its builds and snapshots\n',
    );
    expect(describe('a', true, res({ root: 'a', sharedWith: ['b', 'c'] }))).toBe('target a removed\nroot a kept: shared with b, c\n');
    expect(describe('a', true, res({ root: 'a' }))).toBe('target a removed\nroot a was already gone\n');
  });

  it("names the target's own root when it built in a shared one", () => {
    expect(describe('b', true, res({ root: 'a', sharedWith: ['a'], ownRoot: 'b', ownRootRemoved: true }))).toBe(
      'target b removed\nroot a kept: shared with a\nits own root b (unused while it shared a) removed\n',
    );
    expect(describe('b', false, res({ root: 'a', sharedWith: ['a'], ownRoot: 'b' }))).toBe(
      'target b removed\nroot a kept: shared with a\nits own root b (unused while it shared a) kept (--purge deletes it)\n',
    );
    expect(describe('b', true, res({ root: 'a', sharedWith: ['a'], ownRoot: 'b' }))).toBe(
      'target b removed\nroot a kept: shared with a\nits own root b (unused while it shared a) kept: another target uses it\n',
    );
  });
});
