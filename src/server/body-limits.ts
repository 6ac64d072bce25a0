/**
 * How much JSON each route accepts. Most bodies are small; a version's manifest (up to 10,000
 * files) and model card (up to a million characters) are the large ones. Blob and artifact
 * uploads are streams, limited by --max-blob-size in the blob store instead.
 */
import type { FastifyInstance } from 'fastify';
import { ModelgateError } from '../core/errors.js';

export const BODY_LIMITS = {
  /** Every JSON body unless its route says otherwise. */
  json: 1024 * 1024,
  /** Registering or editing a version: manifest and model card. */
  version: 16 * 1024 * 1024,
} as const;

/** Deeper than any document we accept; deep enough nesting would exhaust the stack later on. */
export const MAX_JSON_DEPTH = 64;

/** Whether `text` nests arrays and objects more than `max` deep (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91 /* { [ */) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93 /* } ] */) depth--;
  }
  return false;
}

/** Replaces Fastify's JSON parser with the same one behind a nesting check. */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
      done(new ModelgateError('VALIDATION_FAILED', `the request body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
