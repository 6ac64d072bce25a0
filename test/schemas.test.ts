/**
 * Route schemas compile on first use (src/server/lazy-schemas.ts), so a schema no test
 * request reaches would only fail in production. This compiles every one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.js';

describe('route schemas', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer('sqlite'); });
  afterAll(async () => { await t?.close(); });

  it('all compile, and the server answers as before once they have', async () => {
    const compiled = t.server.app.compileAllSchemas();
    expect(compiled).toBeGreaterThan(t.server.app.routeTable.length);
    expect(t.server.app.compileAllSchemas()).toBe(0);
    await t.admin.createModel({ name: 'compiled' });
    expect((await t.admin.getModel('compiled')).name).toBe('compiled');
  });
});
