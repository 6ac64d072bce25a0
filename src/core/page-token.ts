/**
 * Opaque page tokens: a keyset cursor plus a fingerprint of the query it belongs to, so a
 * token replayed against a different filter or sort is refused instead of skipping rows.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { errors } from './errors.js';

function fingerprint(query: unknown): string {
  return createHash('sha256').update(canonicalJson(query)).digest('base64url').slice(0, 12);
}

export function encodePageToken(query: unknown, position: unknown): string {
  return Buffer.from(JSON.stringify({ q: fingerprint(query), p: position })).toString('base64url');
}

/** Returns the position stored in the token, or throws INVALID_PAGE_TOKEN. */
export function decodePageToken(token: string, query: unknown): unknown {
  try {
    if (token.length > 1024) throw new Error('too long');
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { q?: unknown; p?: unknown };
    if (parsed.q !== fingerprint(query) || parsed.p === undefined) throw new Error('wrong query');
    return parsed.p;
  } catch {
    throw errors.invalidPageToken();
  }
}

/** A keyset cursor `{key, id}` from a page token, or INVALID_PAGE_TOKEN. */
export function decodeCursor(token: string, query: unknown): { key: string; id: string } {
  const p = decodePageToken(token, query) as { key?: unknown; id?: unknown } | null;
  if (typeof p?.key !== 'string' || typeof p.id !== 'string') throw errors.invalidPageToken();
  return { key: p.key, id: p.id };
}
