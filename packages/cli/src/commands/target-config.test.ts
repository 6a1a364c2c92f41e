import { describe, expect, it } from 'vitest';
import { ConfigRewrite } from '@binhost/shared';
import { describeRewrite } from './target-config.js';

describe('target config rewrites', () => {
  it('says a file left out of the root in words, and a value change with both values', () => {
    const dropped = ConfigRewrite.fromPartial({ file: 'etc/portage/binrepos.conf', before: 'present', reason: "the target's binhost must not feed the build" });
    expect(describeRewrite(dropped)).toBe("etc/portage/binrepos.conf: left out of the root (the target's binhost must not feed the build)");
    const removed = ConfigRewrite.fromPartial({ file: 'etc/portage/make.conf', key: 'PKGDIR', before: '/var/cache/binpkgs', reason: 'set per build' });
    expect(describeRewrite(removed)).toBe('etc/portage/make.conf: PKGDIR: removed "/var/cache/binpkgs" (set per build)');
  });
});
