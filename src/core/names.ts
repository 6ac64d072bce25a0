/** The naming rules for everything a user names. One place, so the API and the CLI agree. */
import { errors } from './errors.js';

const NAME = /^[A-Za-z0-9._-]{1,128}$/;
const ALIAS = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const TAG_KEY = /^[A-Za-z0-9._:/-]{1,128}$/;
const METRIC = /^[A-Za-z0-9_.\-/:]{1,250}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function checkModelName(name: string): string {
  if (!NAME.test(name)) throw errors.invalidName('model', name, '1-128 characters of A-Z a-z 0-9 . _ -');
  if (/^\.+$/.test(name)) throw errors.invalidName('model', name, 'a name cannot be only dots');
  return name;
}

/** Aliases start with a letter so that `@3` can never be confused with version 3. */
export function checkAliasName(alias: string): string {
  if (!ALIAS.test(alias)) throw errors.invalidName('alias', alias, 'a letter, then up to 63 of A-Z a-z 0-9 . _ -');
  return alias;
}

export function checkUsername(username: string): string {
  if (!USERNAME.test(username)) throw errors.invalidName('user', username, '1-64 of a-z 0-9 . _ -, starting with a letter or digit');
  return username;
}

export const MAX_TAGS = 200;

export function checkTags(tags: Record<string, string>): Record<string, string> {
  if (Object.keys(tags).length > MAX_TAGS) throw errors.validation(`at most ${MAX_TAGS} tags`);
  for (const [key, value] of Object.entries(tags)) {
    if (!TAG_KEY.test(key)) throw errors.invalidName('tag', key, '1-128 characters of A-Z a-z 0-9 . _ : / -');
    if (value.length > 5000) throw errors.validation(`tag ${key} is longer than 5000 characters`, { tag: key });
  }
  return tags;
}

export function isMetricName(name: string): boolean {
  return METRIC.test(name);
}

export function checkMetricName(name: string): string {
  if (!METRIC.test(name)) throw errors.invalidName('metric', name, '1-250 characters of A-Z a-z 0-9 _ . - / :');
  return name;
}

export function checkDigest(digest: string): string {
  if (!DIGEST.test(digest)) throw errors.validation(`digest ${JSON.stringify(digest)} must be sha256:<64 lowercase hex>`, { digest });
  return digest;
}

/**
 * A file path inside a version: relative, forward slashes, no `.`/`..` segments, no empty
 * segments, no control characters. Whatever a client sends, a path can never escape the
 * version when it is written to disk by a downloader.
 */
export function checkFilePath(path: string): string {
  if (path.length === 0 || path.length > 1024) throw errors.invalidPath(path, 'must be 1-1024 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) throw errors.invalidPath(path, 'control characters are not allowed');
  if (path.includes('\\')) throw errors.invalidPath(path, 'use forward slashes');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw errors.invalidPath(path, 'must be relative');
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw errors.invalidPath(path, 'empty, "." and ".." segments are not allowed');
  }
  return path;
}
