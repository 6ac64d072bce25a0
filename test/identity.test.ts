import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS, expectApiError, startTestServer, type TestServer } from './helpers/harness.js';

describe.each(DIALECTS)('identity on $name', ({ name }) => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(name); });
  afterAll(async () => { await t?.close(); });

  it('bootstraps one admin and writes its token to an owner-only file', async () => {
    const file = join(t.dataDir, 'admin-token');
    expect((await readFile(file, 'utf8')).trim()).toBe(t.adminToken);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await t.admin.whoami()).toMatchObject({ username: 'admin', role: 'admin', created_by: 'system' });
    expect(await t.server.registry.identity.bootstrap()).toBeNull();
  });

  it('stores tokens hashed, never in the clear', async () => {
    const rows = (await t.sql('select hash, prefix from api_tokens')) as { hash: string; prefix: string }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.hash).not.toContain(t.adminToken);
    }
  });

  it('lets admins create users and tokens; others only their own tokens', async () => {
    const viewer = await t.as('viewer', 'vera');
    expect(await viewer.whoami()).toMatchObject({ username: 'vera', role: 'viewer' });
    await expectApiError(viewer.createModel({ name: 'nope' }), 403, 'ROLE_REQUIRED');
    await expectApiError(viewer.createUser({ username: 'x', role: 'admin' }), 403, 'ROLE_REQUIRED');
    await expectApiError(viewer.createToken({ username: 'admin', name: 'steal' }), 403, 'ROLE_REQUIRED');
    const own = await viewer.createToken({ name: 'laptop' });
    expect(own.token).toMatch(/^mgt_/);
    expect((await viewer.listTokens()).map((tk) => tk.name).sort()).toEqual(['laptop', 'test']);
    await expectApiError(t.admin.createUser({ username: 'vera', role: 'viewer' }), 409, 'USER_EXISTS');
    await expectApiError(t.admin.createUser({ username: 'Bad Name', role: 'viewer' }), 400, 'INVALID_NAME');
    expect((await t.admin.listUsers()).map((u) => u.username)).toContain('vera');
  });

  it('stops accepting a token once it is revoked', async () => {
    await t.admin.createUser({ username: 'leaver', role: 'contributor' });
    const issued = await t.admin.createToken({ username: 'leaver', name: 'ci' });
    const leaver = new ModelgateClient({ url: t.url, token: issued.token });
    expect((await leaver.whoami()).username).toBe('leaver');
    const revoked = await t.admin.revokeToken(issued.id);
    expect(revoked.revoked_at).not.toBeNull();
    await expectApiError(leaver.whoami(), 401, 'UNAUTHENTICATED');
    const audit = await t.admin.listAudit({ action: 'token.revoked' });
    expect(audit.entries[0]!.changes).toEqual({ username: 'leaver', name: 'ci' });
    expect(JSON.stringify(await t.admin.exportAudit())).not.toContain(issued.token);
  });

  it('authenticates every request but the health checks', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ status: 'ready' });
    for (const path of ['/api/v1/models', '/api/v1/audit', '/api/v1/openapi.json', '/api/v1/blobs/sha256:00']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('never lets the last admin be demoted', async () => {
    await expectApiError(t.admin.updateUser('admin', { role: 'approver' }), 409, 'CONFLICT');
    await t.admin.createUser({ username: 'second-admin', role: 'admin' });
    const updated = await t.admin.updateUser('second-admin', { role: 'approver', groups: ['risk', 'ops', 'risk'] });
    expect(updated).toMatchObject({ role: 'approver', groups: ['ops', 'risk'] });
    const audit = (await t.admin.listAudit({ resource: 'users/second-admin', action: 'user.updated' })).entries;
    expect(audit[0]!.changes).toEqual({ role: { from: 'admin', to: 'approver' }, groups: { from: [], to: ['ops', 'risk'] } });
  });

  it('serves an OpenAPI document describing the routes', async () => {
    const doc = await (await fetch(`${t.url}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/api/v1/models', '/api/v1/models/{name}/versions', '/api/v1/models/{name}/resolve', '/api/v1/blobs', '/api/v1/audit/verify',
    ]));
    expect(doc.paths['/api/v1/models'].post.requestBody).toBeDefined();
  });
});
