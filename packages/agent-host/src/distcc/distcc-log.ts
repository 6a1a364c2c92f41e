import { DistccStats } from '@binhost/shared';

export { describeDistcc } from '@binhost/shared';

/**
 * Reads distcc's own client log (DISTCC_LOG, distcc 3.x) into figures: where each compile job
 * ended up, and which helpers could not be used and why. Nothing is guessed: a job counts where
 * distcc says it was compiled. The lines it relies on (distcc 3.4, the default log level):
 *
 * ```
 * distcc[PID] compile from a.c to a.o                        a compile job (links and -E are not)
 * distcc[PID] compile a.c on 10.0.0.2:3632/8 completed ok    where it ran ("localhost": here)
 * distcc[PID] ERROR: compile a.c on localhost failed         a job that failed (counted where it ran)
 * distcc[PID] ERROR: nonblocking connect to H:P failed: Connection refused   (also: failed to
 *             connect to H:P: …, timeout while connecting to H:P, failed to resolve host H port P: …)
 * distcc[PID] Warning: failed to distribute a.c to H/4, running locally instead
 * distcc[PID] (dcc_build_somewhere) Warning: failed to distribute, running locally instead
 * distcc[PID] (dcc_build_somewhere) Warning: failed to get includes from include server, preprocessing locally
 * ```
 * A helper in backoff (DISTCC_BACKOFF_PERIOD) is skipped without a line, so a dead helper shows
 * once per period, not once per file.
 */
export function summarizeDistccLog(text: string, settings: { hosts: string; makeJobs: number; pump: boolean }): DistccStats {
  const jobs = new Map<number, { where?: string; fellBack: boolean }>();
  const problems = new Map<string, { host: string; reason: string; count: number }>();
  const problem = (host: string, reason: string) => {
    const key = `${host}\n${reason}`;
    const p = problems.get(key) ?? { host, reason, count: 0 };
    p.count++;
    problems.set(key, p);
  };
  for (const line of text.split('\n')) {
    const m = /^distcc\[(\d+)\] (?:\([a-z_]+\) )?(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const msg = m[2]!;
    let x: RegExpExecArray | null;
    if (/^compile from \S+ to \S+$/.test(msg)) jobs.set(pid, { fellBack: false });
    else if ((x = /^(?:ERROR: )?compile (\S+) on (\S+) (?:completed ok|failed)$/.exec(msg)) && x[1] !== '(null)') {
      const job = jobs.get(pid);
      if (job) job.where = hostName(x[2]!);
      if (job && msg.startsWith('ERROR') && job.where !== 'localhost') problem(job.where!, 'compile failed there (retried here)');
    } else if ((x = /^ERROR: (?:nonblocking )?connect to (\S+) failed: (.*)$/.exec(msg))) problem(hostName(x[1]!), x[2]!.toLowerCase());
    else if ((x = /^ERROR: (?:failed to )?(?:read|receive|send|connect).*?(?: from| to) (\S+?)[:,]? (.*)$/.exec(msg))) problem(hostName(x[1]!), x[2]!);
    else if (/^Warning: failed to get includes from include server, preprocessing locally$/.test(msg)) problem('pump include server', 'not used, preprocessed here');
    else if (/^Warning: failed to distribute\b.*running locally instead$/.test(msg)) {
      const job = jobs.get(pid);
      if (job) job.fellBack = true;
    }
  }
  const helpers = new Map<string, number>();
  let localJobs = 0;
  let fallbackJobs = 0;
  for (const job of jobs.values()) {
    if (!job.where) continue;
    if (job.where === 'localhost') {
      localJobs++;
      if (job.fellBack) fallbackJobs++;
    } else helpers.set(job.where, (helpers.get(job.where) ?? 0) + 1);
  }
  return DistccStats.fromPartial({
    hosts: settings.hosts,
    makeJobs: settings.makeJobs,
    pump: settings.pump,
    helpers: [...helpers].sort(([a], [b]) => a.localeCompare(b)).map(([host, n]) => ({ host, jobs: n })),
    localJobs,
    fallbackJobs,
    problems: [...problems.values()],
  });
}

/** `10.0.0.2:3632/8,lzo` → `10.0.0.2:3632`: the helper without distcc's limit and options. */
function hostName(spec: string): string {
  return spec.replace(/[/,].*$/, '');
}

/**
 * Helpers distcc holds in backoff, from its own state (DISTCC_DIR/lock/backoff_tcp_HOST_PORT_N,
 * touched when a helper failed): those it skips without trying until `periodSeconds` have passed
 * since. `files` are the lock dir's names with their modification times.
 */
export function helpersInBackoff(files: ReadonlyArray<{ name: string; mtimeMs: number }>, periodSeconds: number, now: number): string[] {
  const out = new Set<string>();
  for (const f of files) {
    const m = /^backoff_tcp_(.+)_(\d+)_\d+$/.exec(f.name);
    if (m && f.mtimeMs + periodSeconds * 1000 > now) out.add(`${m[1]}:${m[2]}`);
  }
  return [...out].sort();
}

/** Adds the helpers in backoff that the log did not already name (distcc skipped them silently). */
export function addBackoff(stats: DistccStats, hosts: readonly string[]): void {
  for (const host of hosts) {
    if (!stats.problems.some((p) => p.host === host)) stats.problems.push({ host, reason: 'skipped: failed earlier, in distcc backoff', count: 0 });
  }
}

