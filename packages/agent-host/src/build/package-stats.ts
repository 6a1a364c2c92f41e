import { stripAnsi, type PackageBuildStats } from '@binhost/shared';
import type { ObservedSnapshot } from './observability.js';

// ">>> Emerging (2 of 4) app-misc/hello-1.0::gentoo for /root/" (no " for …": built for the
// building machine's /), and ">>> Completed (2 of 4) …"
const EMERGING = /^>>> Emerging (?:binary )?\((\d+) of \d+\) (\S+?)(?:::\S+)?( for .*)?$/;
const COMPLETED = /^>>> Completed \((\d+) of \d+\) /;

/**
 * What each package of a build took. Portage's own figures (FEATURES=observability: build time;
 * with FEATURES=cgroup also CPU time and peak memory) win; without them, e.g. from an older
 * Portage, the time between emerge's "Emerging (i of n)" and "Completed (i of n)" lines.
 */
export class PackageStatsRecorder {
  private readonly stats = new Map<string, PackageBuildStats>();
  private running: { index: number; key: string; since: number } | undefined;

  /** `rootDir`: the root's directory, to tell packages built for it from those for the building machine. */
  constructor(private readonly rootDir: string) {}

  /** One line of emerge's output, at time `now`. */
  line(raw: string, now = Date.now()): void {
    const line = stripAnsi(raw);
    const emerging = EMERGING.exec(line);
    if (emerging) {
      const [, index, cpv = '', forRoot] = emerging;
      const key = this.put({ cpv, forRoot: forRoot !== undefined, source: 'output' });
      this.running = { index: Number(index), key, since: now };
      return;
    }
    const completed = COMPLETED.exec(line);
    if (completed && this.running && Number(completed[1]) === this.running.index) {
      const s = this.stats.get(this.running.key)!;
      if (s.source === 'output') s.seconds = (now - this.running.since) / 1000;
      this.running = undefined;
    }
  }

  /** A snapshot from Portage's observability socket. */
  snapshot(snapshot: ObservedSnapshot): void {
    for (const t of snapshot.tasks) {
      if (t.kind !== 'build') continue;
      const forRoot = t.root.replace(/\/+$/, '') === this.rootDir.replace(/\/+$/, '');
      const s = this.stats.get(this.put({ cpv: t.cpv, forRoot, source: 'observability' }))!;
      s.source = 'observability';
      if (t.buildElapsed !== undefined) s.seconds = t.buildElapsed;
      if (t.cpuUsec !== undefined) s.cpuSeconds = t.cpuUsec / 1e6;
      if (t.memPeak !== undefined) s.peakMemoryBytes = BigInt(Math.round(t.memPeak));
    }
  }

  /** Every package seen, in the order it started. */
  result(): PackageBuildStats[] {
    return [...this.stats.values()].map((s) => ({ ...s }));
  }

  private put(p: { cpv: string; forRoot: boolean; source: string }): string {
    const key = `${p.forRoot ? 'root' : 'host'}:${p.cpv}`;
    if (!this.stats.has(key)) this.stats.set(key, { cpv: p.cpv, forRoot: p.forRoot, seconds: 0, cpuSeconds: 0, peakMemoryBytes: 0n, source: p.source });
    return key;
  }
}
