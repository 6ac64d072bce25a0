/**
 * Kysely's SQLite driver prepares every statement afresh on every query; preparing costs more
 * than running a short query (the profile of `resolve` showed `prepare` at 18% of all CPU).
 * This wraps a better-sqlite3 database so Kysely gets a cached prepared statement for SQL it
 * has seen before. Statements are reusable once a call returns; a statement still busy
 * (an open `iterate`) is never handed out twice, a fresh one is prepared instead.
 *
 * It also counts the statements that may have committed something, after they return: every
 * statement that is not a plain read, and the COMMIT (or RELEASE, ROLLBACK) that ends a
 * transaction in which one ran. The hot reads compare the count to know that this process
 * committed nothing since they last looked (see sqlite-hot-reads.ts). A transaction that only
 * read (the webhook dispatcher's idle poll, twice a second) moves nothing: what they remember
 * stays good.
 */
import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** The most distinct SQL texts kept; `in (?, ?, ...)` lists make many, so the oldest go first. */
const MAX_STATEMENTS = 1000;

/** Statements run on the write connection that may have committed, counted after they returned. */
export interface WriteCount {
  value: number;
}

const TRANSACTION_CONTROL = /^\s*(begin|savepoint|release|commit|end|rollback)\b/i;

export function withStatementCache(db: SQLite.Database, writes: WriteCount = { value: 0 }, max = MAX_STATEMENTS): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  const counted = new WeakMap<SQLite.Statement, SQLite.Statement>();
  // Whether a statement that may have written ran in the open transaction.
  let dirty = false;
  const counting = (stmt: SQLite.Statement): SQLite.Statement => {
    // A plain read. (COMMIT and the other transaction statements count as readonly in SQLite's
    // sense but return no rows; INSERT ... RETURNING returns rows but writes.)
    if (stmt.reader && stmt.readonly) return stmt;
    let wrapped = counted.get(stmt);
    if (!wrapped) {
      const control = TRANSACTION_CONTROL.test(stmt.source);
      const after = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A): R => {
        try {
          return fn(...args);
        } finally {
          // Even when it threw: it may have committed part of the way.
          if (!control || dirty) writes.value += 1;
          dirty = (dirty || !control) && db.inTransaction;
        }
      };
      wrapped = {
        reader: stmt.reader,
        readonly: stmt.readonly,
        run: after(stmt.run.bind(stmt)),
        all: after(stmt.all.bind(stmt)),
        iterate: after(stmt.iterate.bind(stmt)),
      } as unknown as SQLite.Statement;
      counted.set(stmt, wrapped);
    }
    return wrapped;
  };
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) return counting(cached);
      const stmt = db.prepare(sql);
      if (!cached) {
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return counting(stmt);
    },
  };
}
