/**
 * Target settings that a SIGHUP applies without a restart, besides `log_level` (always live).
 * `install.policy` is read from `TargetDaemon.config` each time an install is decided, so an admin
 * can switch a target to `off` or `confirm` without dropping its connection. The host address, TLS
 * files, root, state directory and the watcher's settings are taken once at start: a changed value
 * there is logged as "restart required for …" and the running value is kept.
 */
export const TARGET_LIVE_KEYS: readonly string[] = ['install.policy'];
