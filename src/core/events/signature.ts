/**
 * Standard Webhooks signatures: HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`
 * with the secret's key bytes (`whsec_<base64>`), sent as `webhook-signature: v1,<base64>`.
 * Receivers can verify with any Standard Webhooks library.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ModelgateError } from '../errors.js';

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function checkWebhookSecret(secret: string): string {
  const match = SECRET.exec(secret);
  const bytes = match ? Buffer.from(match[1]!, 'base64').length : 0;
  if (!match || bytes < 24 || bytes > 64) {
    throw new ModelgateError('VALIDATION_FAILED', 'secret must be whsec_ followed by 24 to 64 base64-encoded bytes (or omit it and one is generated)');
  }
  return secret;
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The three headers of a signed delivery. */
export function signedHeaders(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secret, id, timestamp, body),
  };
}

/** Verifies a delivery as a receiver would (any of the space-separated signatures may match). */
export function verify(secret: string, headers: Record<string, string | undefined>, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const id = headers['webhook-id'];
  const timestamp = Number(headers['webhook-timestamp']);
  const signatures = headers['webhook-signature'];
  if (!id || !Number.isInteger(timestamp) || !signatures) return false;
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, id, timestamp, body));
  return signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
