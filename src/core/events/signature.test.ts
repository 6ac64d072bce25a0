import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { checkWebhookSecret, newWebhookSecret, signedHeaders, verify } from './signature.js';

describe('Standard Webhooks signatures', () => {
  it('are accepted by the reference verifier and by our own, and rejected when anything changes', () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ type: 'version.created', data: { version: 3 } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(secret, 'evt-1', timestamp, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(verify(secret, headers, body)).toBe(true);
    expect(verify(secret, headers, body.replace('3', '4'))).toBe(false);
    expect(verify(newWebhookSecret(), headers, body)).toBe(false);
    expect(verify(secret, { ...headers, 'webhook-id': 'evt-2' }, body)).toBe(false);
    expect(verify(secret, headers, body, 300, (timestamp + 3600) * 1000)).toBe(false);
  });

  it('takes only whsec_ secrets of a sensible length', () => {
    expect(checkWebhookSecret(newWebhookSecret())).toMatch(/^whsec_/);
    for (const bad of ['hunter2', 'whsec_', `whsec_${Buffer.alloc(8).toString('base64')}`, 'whsec_!!!!']) {
      expect(() => checkWebhookSecret(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});
