/**
 * Reading the small documents a command attaches (model cards, signatures, lineage). These
 * are read whole, unlike model files: the server caps them at a megabyte or so anyway.
 */
import { readFile } from 'node:fs/promises';
import { CliError } from './cli-error.js';

/** Reads a UTF-8 text file, naming the option it came from when it cannot be read. */
export async function readText(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('FILE_NOT_FOUND', `${option} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Reads and parses a JSON file; `object` insists on a JSON object rather than any value. */
export async function readJson(path: string, option: string, object = false): Promise<unknown> {
  const text = await readText(path, option);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError('INVALID_JSON', `${option} ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (object && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new CliError('INVALID_JSON', `${option} ${path} must hold a JSON object`);
  }
  return value;
}
