/**
 * Group commit for SQLite. Every commit with `synchronous = FULL` waits for an fsync, and
 * SQLite has one writer, so one transaction per request caps writes at the disk's fsync
 * rate (a few hundred a second here). Units of work that arrive while a commit is under way
 * queue up and then run one after another inside one transaction, each in its own
 * savepoint, and share its single commit:
 *
 * - a unit that throws is rolled back to its savepoint and fails alone; the others go on;
 * - no unit's promise settles as a success before the shared COMMIT returned, so a 200 still
 *   means "on disk";
 * - if the transaction itself breaks (COMMIT fails, or SQLite aborted the transaction), every
 *   unit in it fails and nothing of it is kept; units not yet started are retried in a new one.
 *
 * Units run strictly in sequence, exactly as they would one transaction after another, so the
 * audit chain's head lock and each unit's reads behave as before: a unit sees the units before
 * it in the batch, as it would have seen their commits.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type SQLite from 'better-sqlite3';
import type { Database } from './schema.js';

interface Unit {
  work: (trx: Kysely<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

// Compiled once: every unit runs two of these, every batch two more.
const BEGIN = CompiledQuery.raw('begin immediate');
const SAVEPOINT = CompiledQuery.raw('savepoint mg_unit');
const RELEASE = CompiledQuery.raw('release mg_unit');
const ROLLBACK_TO = CompiledQuery.raw('rollback to mg_unit');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/** Units sharing one commit at most; bounds how long the first of them waits for its answer. */
const MAX_BATCH = 200;

export class GroupCommitter {
  private readonly queue: Unit[] = [];
  private draining = false;

  constructor(private readonly db: Kysely<Database>, private readonly writer: SQLite.Database) {}

  run<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        // Statements here are synchronous and COMMIT blocks the event loop for its fsync, so
        // requests that arrived meanwhile are still unread: one turn of the loop lets them
        // reach this queue and join the batch.
        await new Promise((resolve) => setImmediate(resolve));
        await this.db.connection().execute((conn) => this.batch(conn)).catch((err: unknown) => {
          // The connection could not even be acquired: fail what is queued rather than hang.
          for (const unit of this.queue.splice(0)) unit.reject(err);
        });
      }
    } finally {
      this.draining = false;
    }
  }

  private async batch(conn: Kysely<Database>): Promise<void> {
    await conn.executeQuery(BEGIN);
    const done: { unit: Unit; value: unknown }[] = [];
    let broken: unknown = null;
    let taken = 0;
    while (taken < MAX_BATCH && this.queue.length > 0) {
      const unit = this.queue.shift()!;
      taken += 1;
      await conn.executeQuery(SAVEPOINT);
      try {
        const value = await unit.work(conn);
        await conn.executeQuery(RELEASE);
        done.push({ unit, value });
      } catch (err) {
        unit.reject(err);
        if (!this.writer.inTransaction) {
          broken = err;
          break;
        }
        try {
          await conn.executeQuery(ROLLBACK_TO);
          await conn.executeQuery(RELEASE);
        } catch (undo) {
          broken = undo;
          break;
        }
      }
    }
    if (broken === null) {
      try {
        await conn.executeQuery(COMMIT);
      } catch (err) {
        broken = err;
      }
    }
    if (broken !== null) {
      if (this.writer.inTransaction) await conn.executeQuery(ROLLBACK).catch(() => undefined);
      for (const { unit } of done) unit.reject(broken);
      return;
    }
    for (const { unit, value } of done) unit.resolve(value);
  }
}
