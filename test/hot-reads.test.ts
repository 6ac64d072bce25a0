/**
 * The deploy-time lookups remember their answers until something commits (src/db/hot-reads.ts).
 * These check what a deployment system relies on: the request after a change, on this server
 * or another one on the same database, gets the new answer, and a revoked token stops at once.
 */
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresHotReads } from '../src/db/postgres-hot-reads.js';
import { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS, expectApiError, startTestServer, type TestServer } from './helpers/harness.js';

const SOURCE = (n: number) => ({ source_uri: `s3://bucket/m${n}.tar.gz`, digest: `sha256:${String(n).repeat(64)}` });

async function champion(client: ModelgateClient): Promise<number> {
  const answer = await client.resolve('fraud', '@champion');
  return answer!.resolved.version;
}

describe.each(DIALECTS)('remembered lookups on $name', ({ name }) => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer(name);
    await t.admin.createModel({ name: 'fraud' });
    await t.admin.createVersion('fraud', SOURCE(1));
    await t.admin.createVersion('fraud', SOURCE(2));
    await t.admin.setAlias('fraud', 'champion', 1);
  });
  afterEach(async () => { await t?.close(); });

  it('answers the request after a change with the change, every time', async () => {
    for (let i = 0; i < 30; i++) {
      const target = (i % 2) + 1;
      await t.admin.setAlias('fraud', 'champion', target);
      expect(await champion(t.admin)).toBe(target);
      expect(await champion(t.admin)).toBe(target);
      await t.admin.updateVersion('fraud', target, { description: `round ${i}` });
      expect((await t.admin.getVersion('fraud', target)).description).toBe(`round ${i}`);
    }
  });

  it('refuses a revoked token on the next request, however often it was used before', async () => {
    await t.admin.createUser({ username: 'deployer', role: 'viewer' });
    const issued = await t.admin.createToken({ username: 'deployer', name: 'ci' });
    const deployer = new ModelgateClient({ url: t.url, token: issued.token });
    for (let i = 0; i < 20; i++) expect(await champion(deployer)).toBe(1);
    await t.admin.revokeToken(issued.id);
    await expectApiError(deployer.resolve('fraud', '@champion'), 401, 'UNAUTHENTICATED');
  });

  it('sees changes made through another server on the same database', async () => {
    const other = await t.another();
    const viaOther = new ModelgateClient({ url: other.url, token: t.adminToken });
    for (let i = 0; i < 10; i++) {
      const target = (i % 2) + 1;
      for (let j = 0; j < 5; j++) await champion(viaOther); // its memory of the answer is warm
      await t.admin.setAlias('fraud', 'champion', target);
      // PostgreSQL: at once. SQLite: the other server is another process to the file, whose
      // commits are noticed within a millisecond (sqlite-hot-reads.ts).
      if (name === 'sqlite') await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await champion(viaOther)).toBe(target);
    }
  });
});

describe.skipIf(!DIALECTS.some((d) => d.name === 'postgres'))('one snapshot read per request on postgres', () => {
  let t: TestServer;
  afterEach(async () => { await t?.close(); });

  it('lets a check take a read sent after its request arrived, and only such a read', async () => {
    t = await startTestServer('postgres');
    await t.admin.createModel({ name: 'fraud' });
    // The server's pool, counting the snapshot reads of these hot reads only (not the server's).
    const pool = t.server.db.pool!;
    let snapshots = 0;
    let failNext = false;
    const counting = Object.create(pool) as pg.Pool & { query: (...args: unknown[]) => Promise<unknown> };
    counting.query = (config: unknown, ...rest: unknown[]) => {
      if ((config as { name?: string }).name?.endsWith('_snapshot')) {
        snapshots += 1;
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection reset'));
        }
      }
      return (pool.query as (...args: unknown[]) => Promise<unknown>)(config, ...rest);
    };
    const hot = postgresHotReads(counting, t.server.db.db, t.server.db.capabilities);
    let loads = 0;
    const load = async () => ++loads;

    // (Other databases on the PostgreSQL server move its snapshots too, as other test files
    // commit: only what holds whatever they do is asserted.)
    const arrived = performance.now();
    expect(await hot.remember('k', load, arrived)).toBe(1); // nothing remembered: a read, then the load
    const before = snapshots;
    expect(await hot.remember('k', load, arrived)).toBe(1); // the same request's next check: that read will do
    expect(snapshots).toBe(before);
    await hot.remember('k', load); // no arrival given: a read of its own
    expect(snapshots).toBe(before + 1);

    await t.admin.createModel({ name: 'other' }); // a commit
    const loaded = loads;
    const next = performance.now(); // a request arriving after it
    expect(await hot.remember('k', load, next)).toBe(loaded + 1); // every read sent before it is too old: the commit is seen
    expect(snapshots).toBe(before + 2);

    // A read that failed fails its own checks only: a later check of the same request reads again.
    failNext = true;
    await expect(hot.remember('k', load)).rejects.toThrow('connection reset');
    await hot.remember('k', load, next);
    expect(snapshots).toBe(before + 4);
  });
});
