// Audit verify on SQLite past the chain's first 200,000 entries reads and hashes its pages on
// worker threads (db/sqlite-page-readers.ts): a long chain verifies, an entry altered there
// (or one whose stored text no longer hashes, found by the workers and checked again from
// its fields) is named, and the workers leave with the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryHash, verifyChain } from '../src/core/audit-chain.js';
import { canonicalJson } from '../src/core/canonical-json.js';
import { KyselyUnitOfWork } from '../src/db/unit-of-work.js';
import { PageReadersUnavailable, SqlitePageReaders } from '../src/db/sqlite-page-readers.js';
import { auditHashInputColumns } from '../src/db/repositories/journal-repository.js';
import { scratchDatabase } from './helpers/harness.js';

const ENTRIES = 230_000;

describe('audit verify on SQLite worker threads', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let uow: KyselyUnitOfWork;

  beforeAll(async () => {
    db = await scratchDatabase('sqlite', 'verify-workers');
    uow = new KyselyUnitOfWork(db.handle);
    // Written straight into the table, as a committed change writes them, for speed.
    const writer = db.handle.writer!;
    const insert = writer.prepare('insert into audit_log (seq, time, actor, action, resource, changes, request_id, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    writer.transaction(() => {
      let prevHash = '0'.repeat(64);
      for (let seq = 1; seq <= ENTRIES; seq++) {
        const entry = { seq, time: '2026-12-05T10:00:00.000Z', actor: 'admin', action: 'model.updated', resource: `models/m${seq % 100}`, changes: { note: `edit ${seq}` }, requestId: null, prevHash };
        const hash = auditEntryHash(entry);
        insert.run(seq, entry.time, entry.actor, entry.action, entry.resource, canonicalJson(entry.changes), null, prevHash, hash);
        prevHash = hash;
      }
      writer.prepare('update journal_head set audit_seq = ?, audit_hash = ? where id = 1').run(ENTRIES, prevHash);
    })();
  }, 120_000);
  afterAll(async () => { await db?.close(); });

  it('reads pages on the workers once they are ready, with each matching text as true', async () => {
    const sql = `select ${auditHashInputColumns(db.handle.capabilities)} from audit_log where seq > ? order by seq limit ?`;
    const pages = new SqlitePageReaders(db.handle.reader!.name, sql);
    try {
      // Until a worker is ready the caller reads on its own connection.
      let page;
      for (let tries = 0; !page; tries++) {
        expect(tries).toBeLessThan(1000);
        page = await pages.read(1000, 3).catch(async (err: unknown) => {
          if (!(err instanceof PageReadersUnavailable)) throw err;
          await new Promise((resolve) => setTimeout(resolve, 10));
          return undefined;
        });
      }
      expect(pages.served).toBe(1);
      const main = db.handle.reader!.prepare(sql).raw(true).all(1000, 3) as unknown[][];
      expect(page).toEqual(main.map(([seq, , prevHash, hash]) => [seq, true, prevHash, hash]));
    } finally {
      await pages.close();
    }
    // Closed, they start no worker again: the caller reads.
    await expect(pages.read(1000, 3)).rejects.toBeInstanceOf(PageReadersUnavailable);
  });

  it('verifies a long chain, and names an entry altered past the first 200,000', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100)); // (the idle workers of the test before are gone or going)
    const onWorkers = () => (uow.read.journal as unknown as { pagesOnWorkers: number }).pagesOnWorkers;
    // Pages of 1,000 entries on SQLite (sqlite-hot-reads.ts): the chain ends on a page's last
    // entry, and the entry altered below starts a page.
    expect(uow.read.journal.auditPageSize).toBe(1000);
    // The first verify starts the workers at entry 200,000 and reads on while they start; the
    // next one, straight after, finds them ready for its last 30 pages (and the read-ahead past its end).
    expect(await verifyChain(uow.read.journal)).toMatchObject({ ok: true, entries: ENTRIES, firstBadSeq: null });
    const before = onWorkers();
    expect(await verifyChain(uow.read.journal)).toMatchObject({ ok: true, entries: ENTRIES, firstBadSeq: null });
    expect(onWorkers() - before).toBeGreaterThanOrEqual(30);
    const writer = db.handle.writer!;
    // Stored text that is not canonical any more, but means the same: checked again from its fields.
    writer.prepare('update audit_log set changes = ? where seq = ?').run('{ "note": "edit 210000" }', 210_000);
    expect(await verifyChain(uow.read.journal)).toMatchObject({ ok: true, entries: ENTRIES });
    writer.prepare('update audit_log set actor = ? where seq = ?').run('mallory', 220_001);
    expect(await verifyChain(uow.read.journal)).toMatchObject({ ok: false, firstBadSeq: 220_001 });
  }, 60_000);
});
