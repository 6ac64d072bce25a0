import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache, type WriteCount } from './sqlite-statement-cache.js';

describe('the write count of the statement cache', () => {
  const open = () => {
    const raw = new SQLite(':memory:');
    raw.exec('create table t (x integer)');
    const writes: WriteCount = { value: 0 };
    const db = withStatementCache(raw, writes);
    const run = (sql: string) => db.prepare(sql).run();
    return { writes, run, all: (sql: string) => db.prepare(sql).all() };
  };

  it('moves after a statement that writes outside a transaction, and after the COMMIT of one that wrote', () => {
    const { writes, run } = open();
    run('insert into t values (1)');
    expect(writes.value).toBe(1);
    run('begin immediate');
    run('insert into t values (2)');
    const beforeCommit = writes.value;
    run('commit');
    // A reader that looked between the insert and the commit saw the old rows: the commit moves it again.
    expect(writes.value).toBeGreaterThan(beforeCommit);
  });

  it('does not move for a transaction that only read, nor for one after a rollback', () => {
    const { writes, run, all } = open();
    run('begin immediate');
    all('select * from t');
    run('commit');
    expect(writes.value).toBe(0);
    run('begin');
    run('insert into t values (1)');
    run('rollback');
    const after = writes.value;
    run('begin immediate');
    run('savepoint unit');
    all('select * from t');
    run('release unit');
    run('commit');
    expect(writes.value).toBe(after);
  });

  it('counts a write inside savepoints at the COMMIT that publishes it', () => {
    const { writes, run } = open();
    run('begin immediate');
    run('savepoint unit');
    run('insert into t values (1)');
    run('release unit');
    const beforeCommit = writes.value;
    run('commit');
    expect(writes.value).toBeGreaterThan(beforeCommit);
  });
});
