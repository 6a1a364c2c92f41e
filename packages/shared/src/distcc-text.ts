import type { DistccStats } from './api.js';

/** One line for the build log, `binhostctl builds` and `logs`: "7 compile jobs: 5 on 10.0.0.2:3632, 2 here (2 fell back: …)". */
export function describeDistcc(s: DistccStats): string {
  const total = s.localJobs + s.helpers.reduce((n, h) => n + h.jobs, 0);
  const parts = [...s.helpers.map((h) => `${h.jobs} on ${h.host}`), `${s.localJobs} here`];
  let text = `distcc: ${total} compile job${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
  if (s.fallbackJobs > 0) text += ` (${s.fallbackJobs} fell back to local compiles)`;
  if (s.problems.length > 0) text += `; helper problems: ${s.problems.map((p) => `${p.host} ${p.reason}${p.count > 1 ? ` ×${p.count}` : ''}`).join(', ')}`;
  return text;
}
