/** @binhost/agent-target: the target agent, for main.ts, tests and benchmarks. */
export { TargetDaemon, AGENT_VERSION, type TargetDaemonOptions } from './daemon.js';
export { HostConnection, type HostConnectionOptions } from './connection/host-connection.js';
export { StateReporter } from './connection/state-reporter.js';
export { collectTargetState, profileOf, type CollectOptions } from './report/collect-state.js';
export { walkTree, type WalkOptions, type WalkResult } from './report/tree-walk.js';
export { parseNativeFlags, resolveNativeFlags, parseCompilerInfo, NATIVE_ARGS, type CompilerFacts } from './report/native-flags.js';
export { cpuFlagsX86, readCpuFlagsX86 } from './report/cpu-flags.js';
export { parseMakeConf, makeConfVars } from './report/make-conf.js';
export { spawnCompiler, type CompilerRunner, type CompilerOutput } from './report/run-compiler.js';
export { ConfigWatcher, type ConfigWatcherOptions } from './watch/config-watcher.js';
export { StateMonitor, type StateMonitorOptions } from './watch/state-monitor.js';
