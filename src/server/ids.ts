/**
 * The IdSource adapter: UUIDv7 ids (time-ordered, so rows created in one millisecond still sort
 * in creation order, and indexes stay local) and URL-safe random secrets.
 */
import { randomBytes } from 'node:crypto';
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
  const bytes = randomBytes(16);
  const ms = lastMs;
  bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const systemIds: IdSource = {
  uuid: () => uuidv7(),
  secret: (n) => randomBytes(n).toString('base64url'),
};
