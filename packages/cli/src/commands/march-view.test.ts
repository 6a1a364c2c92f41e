import { describe, expect, it } from 'vitest';
import { MarchSummary, NativeFlags } from '@binhost/shared';
import { adminFlags, compactFlags } from './march-view.js';

const nf = NativeFlags.fromPartial({ known: true, march: 'znver3', mtune: 'znver3', featureFlags: ['-mmmx', '-msse', '-mno-avx512f', '-mno-sha512'], params: ['--param=l1-cache-size=32'] });
const m = MarchSummary.fromPartial({ march: 'znver3', mtune: 'znver3', differingFlags: ['-mno-sha512'], impliedCount: 3, compiler: 'gcc' });

describe('the admin view of -march', () => {
  it('is -march=X plus only the flags -march=X does not imply', () => {
    expect(adminFlags(m)).toBe('-march=znver3 -mno-sha512');
    expect(adminFlags({ ...m, mtune: 'generic' })).toBe('-march=znver3 -mno-sha512 -mtune=generic');
  });

  it('shortens the resolved flags in make.conf lines and rewrite values, keeping quotes and other flags', () => {
    const resolved = '-march=znver3 -mmmx -msse -mno-avx512f -mno-sha512 --param=l1-cache-size=32 -mtune=znver3';
    expect(compactFlags(`COMMON_FLAGS="${resolved} -O2 -pipe"\n`, m, nf)).toBe('COMMON_FLAGS="-march=znver3 -mno-sha512 -O2 -pipe"\n');
    expect(compactFlags(`CFLAGS="-O2 ${resolved}"\nX=1\n`, m, nf)).toBe('CFLAGS="-O2 -march=znver3 -mno-sha512"\nX=1\n');
    // an admin's own -march=znver3 without the resolved flags stays as it is; so does another -march
    expect(compactFlags('CFLAGS="-march=znver3 -O2"', m, nf)).toBe('CFLAGS="-march=znver3 -O2"');
    expect(compactFlags('CFLAGS="-march=znver3x -mmmx"', m, nf)).toBe('CFLAGS="-march=znver3x -mmmx"');
  });
});
