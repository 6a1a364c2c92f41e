import type { CliCommand } from '../command-spec.js';
import * as show from './target-show.js';
import * as diff from './target-diff.js';
import * as add from './target-add.js';
import * as config from './target-config.js';
import * as remove from './target-remove.js';

/** `binhostctl target SUBCOMMAND`: one file per subcommand. */
export const specs: readonly CliCommand[] = [show.spec, diff.spec, add.spec, config.spec, remove.spec];
