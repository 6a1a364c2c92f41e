/** @binhost/cli: `binhostctl`, for tests that run its commands in-process. */
export { dispatch, COMMANDS, GROUPS, type DispatchIo } from './dispatch.js';
export type { CliCommand } from './command-spec.js';
export { JSON_VERSION } from './view.js';
export { userGuide } from './guide.js';
