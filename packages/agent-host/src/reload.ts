/**
 * Host settings that a SIGHUP applies without a restart, besides `log_level` (always live). The
 * listener, the TLS files, the state directory and the build settings are taken once at start:
 * a changed value there is logged as "restart required for …" and the running value is kept. A
 * component that reads its setting from the running config at the time of use may add it here.
 */
export const HOST_LIVE_KEYS: readonly string[] = [];
