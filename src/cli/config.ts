/**
 * The stored login: `{server, token}` in the user's config directory. The file holds a
 * secret, so it is written 0600 inside a 0700 directory, and replaced atomically so a crash
 * never leaves half a file behind.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, usageError } from './cli-error.js';

/** What `modelgate login` stores. Both fields are optional because the file may be absent. */
export interface StoredConfig {
  server?: string;
  token?: string;
}

/** `$XDG_CONFIG_HOME/modelgate/config.json`, else `~/.config/modelgate/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.config');
  return join(base, 'modelgate', 'config.json');
}

/** Reads the stored config; a missing file is an empty config, a corrupt one an error. */
export async function readConfig(path: string): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError('CONFIG_INVALID', `${path} is not valid JSON; run modelgate login again`);
  }
  const value = (parsed ?? {}) as Record<string, unknown>;
  return {
    server: typeof value.server === 'string' ? value.server : undefined,
    token: typeof value.token === 'string' ? value.token : undefined,
  };
}

/** Writes the config with owner-only permissions, replacing any previous file atomically. */
export async function writeConfig(path: string, config: StoredConfig): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; tighten it in case it was created loosely.
  await chmod(dir, 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/** Checks a server URL is http(s) and drops trailing slashes, so stored and given URLs compare equal. */
export function normaliseServer(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`${JSON.stringify(url)} is not a URL; expected e.g. http://127.0.0.1:8080`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`${JSON.stringify(url)} must be an http:// or https:// URL`);
  }
  return url.replace(/\/+$/, '');
}
