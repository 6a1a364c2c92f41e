/** @binhost/agent-target: the target agent, for main.ts, tests and benchmarks. */
export { TargetDaemon, AGENT_VERSION, type TargetDaemonOptions } from './daemon.js';
export { HostConnection, type HostConnectionOptions } from './connection/host-connection.js';
export { StateReporter } from './connection/state-reporter.js';
