// Group commit on a real SQLite file: units whose fsync may run aside commit without syncing
// on the event loop, never share a batch with units that must sync it, and are answered only
// once a WAL sync that began after their commit has returned. The WAL sync is the real one,
// held back or failed by the test where it needs to watch what waits for it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from './connect.js';
import { GroupCommitter } from './group-commit.js';

let dir: string;
let handle: DbHandle;
let committer: GroupCommitter;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelgate-group-commit-'));
  handle = await openDatabase(join(dir, 'registry.db'));
  committer = new GroupCommitter(handle.db, handle.writer!);
});
afterEach(async () => {
  await committer.close();
  await handle.close();
  await rm(dir, { recursive: true, force: true });
});

/** Polls, a turn of the event loop at a time, until `done()` (at most 2,000 turns). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(done()).toBe(true);
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A unit inserting one row, noting the `synchronous` setting its batch committed under (2 = FULL, 1 = NORMAL). */
function unit(key: string, seen: Map<string, number>) {
  return async (trx: DbHandle['db']) => {
    seen.set(key, handle.writer!.pragma('synchronous', { simple: true }) as number);
    await trx.insertInto('maintenance_leases').values({ name: key, holder: 'test', expires_at: '2026-01-01' }).execute();
    return key;
  };
}

/** A committer whose every WAL sync waits until the test calls its entry in `held`. */
function heldSyncs() {
  const held: Array<() => void> = [];
  const gated = new GroupCommitter(handle.db, handle.writer!, {
    sync: async (wal) => {
      await new Promise<void>((release) => held.push(release));
      await wal.datasync();
    },
  });
  return { gated, held };
}

describe('GroupCommitter', () => {
  it('commits aside units without syncing in the commit, never batched with units that sync it', async () => {
    const seen = new Map<string, number>();
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    const mustSync = (i: number) => i % 3 === 2;
    // Interleaved, in waves: batches form from whatever is waiting when the last one ends.
    const results: Promise<string>[] = [];
    for (let wave = 0; wave < 4; wave++) {
      for (let i = wave * 15; i < (wave + 1) * 15; i++) results.push(committer.run(unit(keys[i]!, seen), { aside: !mustSync(i) }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(results)).toEqual(keys);
    keys.forEach((key, i) => {
      // An aside unit may ride in a fully synced batch; a unit that must sync never rides in an aside one.
      if (mustSync(i)) expect(seen.get(key), key).toBe(2);
      else expect([1, 2], key).toContain(seen.get(key));
    });
    expect([...seen.values()]).toContain(1);
    expect(handle.writer!.pragma('synchronous', { simple: true })).toBe(2);
    // Committed: another connection reads every row.
    const other = new SQLite(join(dir, 'registry.db'), { readonly: true });
    try {
      const count = other.prepare(`select count(*) as n from maintenance_leases where name like 'k%'`).get() as { n: number };
      expect(count.n).toBe(60);
    } finally {
      other.close();
    }
  });

  it('answers an aside unit only once a WAL sync begun after its commit has returned', async () => {
    const { gated, held } = heldSyncs();
    const seen = new Map<string, number>();
    const answered = new Set<string>();
    const send = (key: string) => gated.run(unit(key, seen), { aside: true }).then((k) => { answered.add(k); });
    const a = send('a');
    await until(() => held.length === 1);
    // b commits while the sync covering a is under way, so that sync may not cover b.
    const b = send('b');
    await until(() => seen.has('b'));
    await turns(5);
    expect(answered).toEqual(new Set());
    held[0]!();
    await a;
    await until(() => held.length === 2);
    expect(answered).toEqual(new Set(['a']));
    held[1]!();
    await b;
    expect(seen).toEqual(new Map([['a', 1], ['b', 1]]));
    // Closing waits for a sync under way.
    const c = send('c');
    await until(() => held.length === 3);
    let closed = false;
    const closing = gated.close().then(() => { closed = true; });
    await turns(5);
    expect(closed).toBe(false);
    held[2]!();
    await Promise.all([c, closing]);
  });

  it('fails the aside units of a WAL sync that failed, and syncs later commits in the commit', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    let fail = true;
    const failing = new GroupCommitter(handle.db, handle.writer!, {
      sync: async (wal) => {
        if (fail) throw eio;
        await wal.datasync();
      },
    });
    const seen = new Map<string, number>();
    try {
      await expect(failing.run(unit('lost', seen), { aside: true })).rejects.toBe(eio);
      fail = false;
      await expect(failing.run(unit('later', seen), { aside: true })).resolves.toBe('later');
      expect(seen).toEqual(new Map([['lost', 1], ['later', 2]]));
      // The failed unit's row was committed: what is known, and a part sent again replaces its row.
      const rows = await handle.db.selectFrom('maintenance_leases').select('name').where('name', 'in', ['lost', 'later']).execute();
      expect(rows.map((r) => r.name).sort()).toEqual(['later', 'lost']);
    } finally {
      await failing.close();
    }
  });

  it('rolls back a failing aside unit alone and sets the connection back to FULL', async () => {
    const seen = new Map<string, number>();
    const results = await Promise.allSettled([
      committer.run(unit('ok1', seen), { aside: true }),
      committer.run(async () => { throw new Error('refused'); }, { aside: true }),
      committer.run(unit('ok2', seen), { aside: true }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(seen).toEqual(new Map([['ok1', 1], ['ok2', 1]]));
    expect(handle.writer!.pragma('synchronous', { simple: true })).toBe(2);
    expect(handle.writer!.inTransaction).toBe(false);
  });

  it('answers a refusal decided on an earlier unit of the batch only with the batch: the refusal if it committed, its failure if not', async () => {
    // A unit refused because an earlier unit of its batch took a name: refused once that is committed.
    const take = (name: string) => async (trx: DbHandle['db']) => {
      const taken = await trx.selectFrom('maintenance_leases').select('name').where('name', '=', name).executeTakeFirst();
      if (taken) throw new Error(`${name} is taken`);
      await trx.insertInto('maintenance_leases').values({ name, holder: 'test', expires_at: '2026-01-01' }).execute();
      return name;
    };
    const first = await Promise.allSettled([committer.run(take('kept')), committer.run(take('kept'))]);
    expect(first.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['kept', 'kept is taken']);

    // The same, but the batch's COMMIT fails (a foreign key checked only at COMMIT): the name was
    // never taken, so the second unit must not be told it was.
    const breaking = (name: string) => async (trx: DbHandle['db']) => {
      handle.writer!.pragma('defer_foreign_keys = on');
      await trx.insertInto('api_tokens').values({ id: 't1', user_id: 'nobody', name: 'x', prefix: 'x', hash: 'x', created_at: '2026-01-01' }).execute();
      return take(name)(trx);
    };
    const second = await Promise.allSettled([committer.run(breaking('lost')), committer.run(take('lost'))]);
    expect(second.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const [a, b] = second.map((r) => (r as PromiseRejectedResult).reason as Error);
    expect(a!.message).toMatch(/FOREIGN KEY/);
    expect(b).toBe(a);
    expect(handle.writer!.inTransaction).toBe(false);
    const rows = await handle.db.selectFrom('maintenance_leases').select('name').where('name', 'in', ['kept', 'lost']).execute();
    expect(rows.map((r) => r.name)).toEqual(['kept']);
  });

  it('answers a refused aside unit only once its batch is synced', async () => {
    const { gated, held } = heldSyncs();
    try {
      const seen = new Map<string, number>();
      let refusal: unknown = null;
      const ok = gated.run(unit('synced', seen), { aside: true });
      const refused = gated.run(async () => { throw new Error('refused'); }, { aside: true }).catch((err: unknown) => { refusal = err; });
      await until(() => held.length === 1);
      await turns(5);
      expect(refusal).toBeNull();
      held[0]!();
      await Promise.all([ok, refused]);
      expect((refusal as Error).message).toBe('refused');
    } finally {
      await gated.close();
    }
  });

  it('syncs in the commit when there is no WAL file (an in-memory database)', async () => {
    const memory = await openDatabase(':memory:');
    const inMemory = new GroupCommitter(memory.db, memory.writer!);
    try {
      let setting = 0;
      await inMemory.run(async (trx) => {
        setting = memory.writer!.pragma('synchronous', { simple: true }) as number;
        await trx.insertInto('maintenance_leases').values({ name: 'm', holder: 'test', expires_at: '2026-01-01' }).execute();
      }, { aside: true });
      expect(setting).toBe(2);
    } finally {
      await inMemory.close();
      await memory.close();
    }
  });
});
