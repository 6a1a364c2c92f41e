import type { HostConfig } from '@binhost/shared';
import type { HostDaemon } from './daemon.js';

/**
 * Host settings that a SIGHUP applies without a restart, besides `log_level` (always live). The
 * listener, the TLS files, the state directory and the build settings are taken once at start:
 * a changed value there is logged as "restart required for …" and the running value is kept. A
 * component that reads its setting from the running config at the time of use may add it here.
 *
 * - `distcc` (the whole table): read at each build start, so the next build uses the new helpers;
 *   a running build keeps those it started with.
 * - `repos.skew_policy`: the next publication follows it; connected targets are told at once
 *   whether to hold installs; leaving `refuse` publishes the snapshots it held back.
 */
export const HOST_LIVE_KEYS: readonly string[] = ['distcc', 'repos.skewPolicy'];

/** Puts the live keys of a reloaded config in place. */
export function applyHostConfig(daemon: HostDaemon, next: HostConfig): void {
  daemon.builds.distcc.setConfig(next.distcc);
  daemon.builds.setSkewPolicy(next.repos.skewPolicy);
}
