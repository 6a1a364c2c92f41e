#!/usr/bin/env node
/**
 * binhostctl: the admin CLI. Results go to stdout, diagnostics to stderr.
 *
 * Exit codes: 0 ok, 1 the operation failed, 2 bad usage, 69 host unreachable, 78 config error.
 */
import { runMain } from '@binhost/shared';
import { dispatch } from './dispatch.js';

runMain('binhostctl', () => dispatch(process.argv.slice(2)));
