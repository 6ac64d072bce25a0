/**
 * The web UI is served by the API's own server: page paths answer the app, assets are cached
 * for good, and nothing the UI serves ever hides an API answer (an unknown API path is still a
 * JSON 404 for the signed in and a 401 for everyone else).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.js';

describe('web UI serving', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer('sqlite'); });
  afterAll(async () => { await t?.close(); });
  const get = (path: string, token?: string) => fetch(t.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers the app at / and at every page path, without a token, with a strict CSP', async () => {
    for (const path of ['/', '/models', '/models/fraud-scorer/versions/3', '/approvals', '/audit?actor=rita', '/webhooks/abc', '/impact', '/login']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="root"></div>');
    }
  });

  it('serves the hashed assets index.html names, cached for good, and 404s unknown ones as JSON', async () => {
    const html = await (await get('/')).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const res = await get(script!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
    const missing = await get('/assets/nope.js');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('NOT_FOUND');
    const escape = await get('/assets/..%2F..%2Fpackage.json');
    expect(escape.status).toBe(404);
  });

  it('never shadows the API: unknown API and MLflow paths keep their own 404 and 401', async () => {
    const unknown = await get('/api/v1/no-such-thing', t.adminToken);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await unknown.json()).error.code).toBe('NOT_FOUND');
    expect((await get('/api/v1/no-such-thing')).status).toBe(401);
    expect((await get('/api/v1/models/none', t.adminToken)).status).toBe(404);
    const mlflow = await get('/api/2.0/mlflow/registered-models/get?name=none', t.adminToken);
    expect(mlflow.status).toBe(404);
    expect((await mlflow.json()).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    // Paths that are neither a page nor the API are not the app either.
    expect((await get('/favicon.ico', t.adminToken)).status).toBe(404);
    expect((await get('/modelsx')).status).toBe(401);
  });
});
