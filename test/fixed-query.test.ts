/** Statements compiled once and bound per call (src/db/repositories/fixed-query.ts), on both databases. */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { fixedQuery, insertRows } from '../src/db/repositories/fixed-query.js';
import type { Database } from '../src/db/schema.js';
import { DIALECTS, scratchDatabase } from './helpers/harness.js';

/** A scratch table the schema does not know: the helpers are typed for Database, so it is cast. */
type Scratch = Kysely<Record<string, Record<string, unknown>>>;
const scratch = (db: Kysely<Database>) => db as unknown as Scratch;
const asDatabase = (db: Scratch) => db as unknown as Kysely<Database>;

let builds = 0;
const byRange = fixedQuery((db, low: number, high: number) => {
  builds += 1;
  return scratch(db).selectFrom('fq_items').select(['id', 'n', 'note']).where('n', '>=', low).where('n', '<', high).where('id', '<>', 'never').orderBy('n');
});

describe.each(DIALECTS)('fixed queries on $name', ({ name }) => {
  let handle: DbHandle;
  let db: Awaited<ReturnType<typeof scratchDatabase>>;

  beforeAll(async () => {
    db = await scratchDatabase(name, 'fixed');
    handle = db.handle;
    await sql`create table fq_items (id varchar(20) primary key, n integer not null, note varchar(20) not null default 'none')`.execute(handle.db);
  });
  afterAll(async () => { await db?.close(); });

  const items = async () => (await sql<{ id: string; n: number; note: string }>`select id, n, note from fq_items order by n`.execute(handle.db)).rows;

  it('inserts one row, a few, and many, each value where it belongs, and leaves undefined columns to their default', async () => {
    await insertRows(handle.db, 'fq_items' as never, [{ id: 'a', n: 1, note: 'first' }] as never);
    await insertRows(handle.db, 'fq_items' as never, [{ id: 'b', n: 2, note: 'b' }, { id: 'c', n: 3, note: 'c' }] as never);
    await insertRows(handle.db, 'fq_items' as never, [{ id: 'd', n: 4, note: undefined }] as never);
    // More rows than one fixed statement takes: Kysely, in chunks, as before.
    const many = Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, n: 100 + i, note: `m${i}` }));
    await insertRows(handle.db, 'fq_items' as never, many as never);
    await insertRows(handle.db, 'fq_items' as never, [{ id: 'x', n: 200 }, { id: 'y', n: 201 }] as never);
    const rows = await items();
    expect(rows.slice(0, 4)).toEqual([
      { id: 'a', n: 1, note: 'first' }, { id: 'b', n: 2, note: 'b' }, { id: 'c', n: 3, note: 'c' }, { id: 'd', n: 4, note: 'none' },
    ]);
    expect(rows.filter((r) => r.id.startsWith('m'))).toEqual(many);
    expect(rows.slice(-2)).toEqual([{ id: 'x', n: 200, note: 'none' }, { id: 'y', n: 201, note: 'none' }]);
  });

  it('binds each call its own arguments, compiled once per database', async () => {
    const before = builds;
    const first = (await byRange(handle.db, 2, 4)).rows;
    const second = (await byRange(handle.db, 100, 103)).rows;
    expect(first.map((r) => r.id)).toEqual(['b', 'c']);
    expect(second.map((r) => r.id)).toEqual(['m0', 'm1', 'm2']);
    expect(builds - before).toBeLessThanOrEqual(1);
  });

  it('runs inside the caller’s transaction', async () => {
    await expect(handle.db.transaction().execute(async (trx) => {
      await insertRows(trx, 'fq_items' as never, [{ id: 'gone', n: 50, note: 'gone' }] as never);
      expect((await byRange(trx, 50, 51)).rows).toHaveLength(1);
      throw new Error('roll back');
    })).rejects.toThrow('roll back');
    expect((await byRange(handle.db, 50, 51)).rows).toEqual([]);
  });

  it('refuses a statement whose shape follows an argument', async () => {
    const shaped = fixedQuery((db, note: string) => scratch(db).selectFrom('fq_items').select('id').where('note', '=', JSON.stringify(note)));
    await expect(shaped(handle.db, 'a')).rejects.toThrow(/argument 0 of a fixed query is not one of its parameters/);
    // Not caught by the check (the list becomes one parameter), but never silently wrong: bad SQL.
    const listed = fixedQuery((db, ids: string[]) => scratch(db).selectFrom('fq_items').select('id').where('id', 'in', ids));
    await expect(listed(asDatabase(scratch(handle.db)), ['a', 'b'])).rejects.toThrow();
  });
});
