/**
 * The IdSource adapter: UUIDv7 ids (time-ordered, so rows created in one millisecond still sort
 * in creation order, and indexes stay local) and URL-safe random secrets; and the id of each
 * HTTP request (Fastify's and the hot path's alike).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { IdSource } from '../core/ports.js';

let lastMs = 0;
let sequence = 0;

/** RFC 9562 UUIDv7: 48-bit Unix ms, then a 12-bit counter that keeps ids monotonic within a millisecond. */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1;
      sequence = 0;
    }
  } else {
    lastMs = now;
    sequence = 0;
  }
  // randomUUID draws from a pooled buffer of entropy (randomBytes is a system call per id); its
  // last 16 hex digits already hold the RFC 9562 variant and 62 random bits.
  const random = randomUUID();
  const ms = lastMs.toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${sequence.toString(16).padStart(3, '0')}-${random.slice(19)}`;
}

export const systemIds: IdSource = {
  uuid: () => uuidv7(),
  secret: (n) => randomBytes(n).toString('base64url'),
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request's id: the client's X-Request-Id when it is well-formed, otherwise a new random one. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}
