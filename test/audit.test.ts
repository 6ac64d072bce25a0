import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

/** Writes a handful of changes so the chain has entries in the middle to tamper with. */
async function someHistory(t: TestServer): Promise<number> {
  await t.admin.createModel({ name: 'audited' });
  const file = await uploadFile(t.admin, 'm.bin', 'bytes');
  await t.admin.createVersion('audited', { files: [file] });
  await t.admin.updateModel('audited', { description: 'edited' });
  await t.admin.setAlias('audited', 'champion', 1);
  const { entries } = await t.admin.verifyAudit();
  return entries;
}

describe.each(DIALECTS)('audit chain on $name', ({ name }) => {
  let t: TestServer;
  beforeEach(async () => { t = await startTestServer(name); });
  afterEach(async () => { await t?.close(); });

  it('records every change with actor, action, resource and request id', async () => {
    await someHistory(t);
    const { entries } = await t.admin.listAudit({ resource: 'models/audited' });
    expect(entries.map((e) => e.action)).toEqual(['alias.set', 'model.updated', 'version.created', 'model.created']);
    expect(entries[1]).toMatchObject({ actor: 'admin', resource: 'models/audited', changes: { description: { from: '', to: 'edited' } } });
    expect(entries.every((e) => typeof e.request_id === 'string' && e.request_id.length > 0)).toBe(true);
    const byAction = await t.admin.listAudit({ action: 'version.*' });
    expect(byAction.entries.map((e) => e.action)).toEqual(['version.created']);
    const page1 = await t.admin.listAudit({ page_size: 2 });
    const page2 = await t.admin.listAudit({ page_size: 2, page_token: page1.next_page_token! });
    expect(page2.entries[0]!.seq).toBe(page1.entries[1]!.seq - 1);
  });

  it('detects an entry edited in the database', async () => {
    await someHistory(t);
    await t.sql(`update audit_log set actor = 'mallory' where seq = 4`);
    expect(await t.admin.verifyAudit()).toMatchObject({ ok: false, first_bad_seq: 4 });
  });

  it('detects an entry deleted from the middle and from the end', async () => {
    const total = await someHistory(t);
    await t.sql(`delete from audit_log where seq = 3`);
    expect(await t.admin.verifyAudit()).toMatchObject({ ok: false, first_bad_seq: 3 });
    await t.sql(`delete from audit_log where seq >= 3`);
    const tail = await t.admin.verifyAudit();
    expect(tail.ok).toBe(false);
    expect(tail.first_bad_seq).toBe(3);
    expect(total).toBeGreaterThan(3);
  });

  it('detects an entry stored before the first one, where the walk from entry 1 would never look', async () => {
    await someHistory(t);
    const [first] = (await t.sql(`select time, actor, action, resource, changes, request_id, prev_hash, hash from audit_log where seq = 1`)) as Record<string, unknown>[];
    const insert = `insert into audit_log (seq, time, actor, action, resource, changes, request_id, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    await t.sql(insert, [0, first!.time, 'mallory', 'model.deleted', 'models/audited', '{}', null, first!.prev_hash, first!.hash]);
    await t.sql(insert, [-5, first!.time, 'mallory', 'model.deleted', 'models/audited', '{}', null, first!.prev_hash, first!.hash]);
    expect(await t.admin.verifyAudit()).toMatchObject({ ok: false, first_bad_seq: -5, problem: expect.stringContaining('2 entries are stored before entry 1') });
    // SQLite lets a primary key that is not an INTEGER hold NULL.
    await t.sql('delete from audit_log where seq < 1');
    expect((await t.admin.verifyAudit()).ok).toBe(true);
    if (name === 'sqlite') {
      await t.sql(insert, [null, first!.time, 'mallory', 'model.deleted', 'models/audited', '{}', null, first!.prev_hash, first!.hash]);
      expect(await t.admin.verifyAudit()).toMatchObject({ ok: false, first_bad_seq: 0, problem: expect.stringContaining('1 entry is stored before entry 1') });
    }
  });

  it('detects two entries swapped', async () => {
    await someHistory(t);
    const rows = (await t.sql(`select seq, time, actor, action, resource, changes, request_id, prev_hash, hash from audit_log where seq in (4, 5) order by seq`)) as Record<string, unknown>[];
    const [a, b] = rows as [Record<string, unknown>, Record<string, unknown>];
    const set = `update audit_log set time = ?, actor = ?, action = ?, resource = ?, changes = ?, request_id = ?, prev_hash = ?, hash = ? where seq = ?`;
    const values = (r: Record<string, unknown>) => [r.time, r.actor, r.action, r.resource, r.changes, r.request_id, r.prev_hash, r.hash];
    await t.sql(set, [...values(b), 4]);
    await t.sql(set, [...values(a), 5]);
    expect(await t.admin.verifyAudit()).toMatchObject({ ok: false, first_bad_seq: 4 });
  });

  it('exports the chain as JSON Lines that link hash to prev_hash', async () => {
    await someHistory(t);
    const entries = await t.admin.exportAudit();
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prev_hash).toBe(entries[i - 1]!.hash);
    expect((await t.admin.verifyAudit()).head_hash).toBe(entries[entries.length - 1]!.hash);
  });

  it('verifies while versions are being created: no false alarm, every answer a whole chain', async () => {
    const before = (await t.admin.verifyAudit()).entries;
    await t.admin.createModel({ name: 'busy' });
    const writes = Array.from({ length: 60 }, (_, i) => t.admin.createVersion('busy', { source_uri: `s3://bucket/m${i}.tar.gz`, digest: `sha256:${String(i % 10).repeat(64)}` }));
    const verifications = [];
    let settled = false;
    const all = Promise.all(writes).finally(() => { settled = true; });
    while (!settled) verifications.push(await t.admin.verifyAudit());
    await all;
    verifications.push(await t.admin.verifyAudit());
    expect(verifications.filter((v) => !v.ok)).toEqual([]);
    expect(verifications.at(-1)!.entries).toBe(before + 61);
  });
});
