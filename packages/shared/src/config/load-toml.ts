import { readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { ConfigError, errnoCode, errorMessage } from '../errors.js';
import { ConfigReader } from './config-reader.js';

/**
 * Reads and parses a TOML config file into a {@link ConfigReader}. A missing, unreadable or
 * malformed file is a {@link ConfigError} naming the file (and the line, for syntax errors).
 */
export async function loadToml(file: string): Promise<ConfigReader> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new ConfigError(file, undefined, `cannot read config: ${why}`, { cause: err });
  }
  try {
    return new ConfigReader(file, parse(text));
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError(file, undefined, `TOML syntax error at line ${err.line}, column ${err.column}: ${err.message.split('\n')[0]}`, { cause: err });
    }
    throw err;
  }
}
