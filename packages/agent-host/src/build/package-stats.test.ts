import { describe, expect, it } from 'vitest';
import { parseObservedSnapshot } from './observability.js';
import { PackageStatsRecorder } from './package-stats.js';

const snapshot = (tasks: unknown[]) => JSON.stringify({ type: 'snapshot', schema: 1, emerge_pid: 7, timestamp: 1, jobs: { running: 1, max: 1, completed: 0, total: 2 }, tasks });

describe('parseObservedSnapshot', () => {
  it("reads Portage's schema-1 snapshot, with cgroup figures when there are some", () => {
    const s = parseObservedSnapshot(snapshot([{ cpv: 'app-misc/hello-1.0', root: '/r/', kind: 'build', phase: 'compile', build_elapsed: 1.5, resources: { cpu_usec: 2_000_000, mem_peak: 4096 } }]));
    expect(s).toEqual({ completed: 0, total: 2, tasks: [{ cpv: 'app-misc/hello-1.0', root: '/r/', kind: 'build', phase: 'compile', buildElapsed: 1.5, cpuUsec: 2_000_000, memPeak: 4096 }] });
  });

  it('drops what is not a snapshot, or not a package, from a socket the build can write to', () => {
    expect(parseObservedSnapshot('{"type":"other"}')).toBeUndefined();
    expect(parseObservedSnapshot('not json')).toBeUndefined();
    const s = parseObservedSnapshot(snapshot([{ cpv: '../../etc/passwd', root: '/' }, { cpv: 'a/b-1', root: '/', phase: 'rm -rf /', build_elapsed: -3 }]));
    expect(s?.tasks).toEqual([{ cpv: 'a/b-1', root: '/', kind: 'build', phase: '', buildElapsed: undefined, cpuUsec: undefined, memPeak: undefined }]);
  });
});

describe('PackageStatsRecorder', () => {
  it("times packages from emerge's output when Portage says nothing else", () => {
    const r = new PackageStatsRecorder('/s/roots/alpha');
    r.line('>>> Emerging (1 of 2) app-misc/hello-1.0::gentoo', 1000);
    r.line('>>> Completed (1 of 2) app-misc/hello-1.0::gentoo', 3500);
    r.line('>>> Emerging (2 of 2) app-misc/greet-1.0::gentoo for /s/roots/alpha/', 4000);
    r.line('>>> Completed (2 of 2) app-misc/greet-1.0::gentoo to /s/roots/alpha/', 5000);
    expect(r.result()).toEqual([
      { cpv: 'app-misc/hello-1.0', forRoot: false, seconds: 2.5, cpuSeconds: 0, peakMemoryBytes: 0n, source: 'output' },
      { cpv: 'app-misc/greet-1.0', forRoot: true, seconds: 1, cpuSeconds: 0, peakMemoryBytes: 0n, source: 'output' },
    ]);
  });

  it("prefers Portage's own figures", () => {
    const r = new PackageStatsRecorder('/s/roots/alpha');
    r.line('>>> Emerging (1 of 1) app-misc/greet-1.0::gentoo for /s/roots/alpha/', 1000);
    r.snapshot(parseObservedSnapshot(snapshot([{ cpv: 'app-misc/greet-1.0', root: '/s/roots/alpha/', kind: 'build', build_elapsed: 0.75, resources: { cpu_usec: 500_000, mem_peak: 1048576 } }]))!);
    r.line('>>> Completed (1 of 1) app-misc/greet-1.0::gentoo to /s/roots/alpha/', 9000);
    expect(r.result()).toEqual([{ cpv: 'app-misc/greet-1.0', forRoot: true, seconds: 0.75, cpuSeconds: 0.5, peakMemoryBytes: 1048576n, source: 'observability' }]);
  });
});
