import { fileURLToPath } from 'node:url';

/** The repository's top directory (deploy/, packages/ …), for tests of files outside packages. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
