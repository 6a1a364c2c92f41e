/**
 * Target settings that a SIGHUP applies without a restart, besides `log_level` (always live).
 * `install.policy` goes to the delivery (`Delivery.reconfigure`), which reads it each time an install
 * is decided (unless the host set an override with `binhostctl policy`), so an admin
 * can switch a target to `off` or `confirm` without dropping its connection. The host address, TLS
 * files, root, state directory and the watcher's settings are taken once at start: a changed value
 * there is logged as "restart required for …" and the running value is kept.
 */
export const TARGET_LIVE_KEYS: readonly string[] = ['install.policy'];
