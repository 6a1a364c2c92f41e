/** @binhost/cli: `binhostctl`, for tests that run its commands in-process. */
export { dispatch, COMMANDS, USAGE } from './dispatch.js';
