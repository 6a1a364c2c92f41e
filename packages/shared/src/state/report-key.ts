import { createHash } from 'node:crypto';
import { NativeFlags, type TargetState } from '../api.js';

/**
 * What makes two reports of a target different for the host: the config digest, plus the facts
 * about the machine that change what gets built without any file changing — the resolved
 * `-march=native` (a new CPU, or gcc installed after a "flags unknown" report), CPU_FLAGS_X86,
 * the profile, CHOST and the gcc version. A state is re-sent, stored and rebuilt when this key
 * changes, not only when the digest does.
 */
export function reportKey(state: TargetState): string {
  const facts = JSON.stringify([
    state.profile,
    state.chost,
    state.gccVersion,
    state.nativeFlags ? NativeFlags.toJSON(state.nativeFlags) : null,
    state.cpuFlagsX86,
  ]);
  return `${state.digest}+${createHash('sha256').update(facts).digest('hex').slice(0, 16)}`;
}

/**
 * {@link reportKey} plus the repository revisions: what the target re-sends a state on. A synced
 * ebuild tree is news for the host (the skew in `status`, `repos.skew_policy`) but no reason to
 * store a state or rebuild, so the host's own key stays {@link reportKey}.
 */
export function reportSendKey(state: TargetState): string {
  const revs = (state.repoRevisions ?? []).map((r) => [r.name, r.revision, r.timestamp?.getTime() ?? null, r.source]);
  return `${reportKey(state)}+${createHash('sha256').update(JSON.stringify(revs)).digest('hex').slice(0, 16)}`;
}
