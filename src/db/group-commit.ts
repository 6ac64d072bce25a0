/**
 * Group commit for SQLite. Every commit with `synchronous = FULL` waits for an fsync, and
 * SQLite has one writer, so one transaction per request caps writes at the disk's fsync
 * rate (a few hundred a second here). Units of work that arrive while a commit is under way
 * queue up and then run one after another inside one transaction, each in its own
 * savepoint, and share its single commit:
 *
 * - a unit that throws is rolled back to its savepoint and fails alone; the others go on;
 * - no unit's promise settles before the shared COMMIT returned, so a 200 still means "on
 *   disk", and a refusal was decided on what is on disk: a unit refused because of what an
 *   earlier unit of the batch wrote (a name already taken) is answered once that write is
 *   committed, and fails with the transaction if it is not;
 * - if the transaction itself breaks (COMMIT fails, or SQLite aborted the transaction), every
 *   unit in it fails and nothing of it is kept; units not yet started are retried in a new one.
 *
 * Units run strictly in sequence, exactly as they would one transaction after another, so the
 * audit chain's head lock and each unit's reads behave as before: a unit sees the units before
 * it in the batch, as it would have seen their commits.
 *
 * A unit may ask for its commit's fsync to run beside the event loop (`aside`): such units are
 * committed together with `synchronous = NORMAL`, which writes the WAL without syncing it, and
 * then the WAL is fdatasynced on libuv's threadpool while the next batch goes on. They still
 * settle only once that sync returned (refused ones too, failing with it if it fails), so a
 * success still means "on disk"; but readers may see the rows a moment before they are durable. That suits records nothing else builds on before
 * a later commit that is fully synced (an upload's parts: a completion's own commit syncs the
 * WAL, and with it every frame written before). The WAL is one file written in order, so a
 * sync that starts after a commit returned covers it. A failed sync fails the units waiting for
 * it, though their rows stay committed (a part sent again replaces its row), and from then on
 * every commit syncs itself. If the safety level cannot be set back to FULL after an aside
 * batch, every unit fails from then on rather than commit unsynced.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { CompiledQuery, type Kysely } from 'kysely';
import type SQLite from 'better-sqlite3';
import type { Database } from './schema.js';

interface Unit {
  work: (trx: Kysely<Database>) => Promise<unknown>;
  aside: boolean;
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
  /** The WAL's path as SQLite resolved it; null without one (an in-memory database). */
  private readonly walPath: string | null;
  private readonly syncFile: (wal: FileHandle) => Promise<void>;
  private wal: Promise<FileHandle> | null = null;
  private syncing: Promise<void> | null = null;
  private syncAgain: Promise<void> | null = null;
  /** Set once a WAL sync failed, or on close: from then on every commit syncs in the commit. */
  private asideOff = false;
  /** Set if the safety level could not be put back to FULL: every unit fails from then on. */
  private failed: Error | null = null;

  /** `sync`: how the WAL file is synced (tests hold it to watch what waits for it). */
  constructor(private readonly db: Kysely<Database>, private readonly writer: SQLite.Database, options: { sync?: (wal: FileHandle) => Promise<void> } = {}) {
    const main = (writer.pragma('database_list') as Array<{ name: string; file: string }>).find((d) => d.name === 'main');
    const wal = !writer.memory && writer.pragma('journal_mode', { simple: true }) === 'wal' && main?.file;
    this.walPath = wal ? `${main!.file}-wal` : null;
    this.syncFile = options.sync ?? ((handle) => handle.datasync());
  }

  /** `aside`: see the header; ignored without a WAL file (the commit is then fully synced). */
  run<T>(work: (trx: Kysely<Database>) => Promise<T>, options: { aside?: boolean } = {}): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, aside: (options.aside ?? false) && this.walPath !== null, resolve: resolve as (value: unknown) => void, reject });
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
        if (this.failed) for (const unit of this.queue.splice(0)) unit.reject(this.failed);
      }
    } finally {
      this.draining = false;
    }
  }

  private async batch(conn: Kysely<Database>): Promise<void> {
    // A batch led by an `aside` unit takes only those; any other batch is fully synced and
    // may take them too.
    const aside = this.queue[0]!.aside && !this.asideOff;
    if (aside) this.writer.pragma('synchronous = NORMAL');
    try {
      await this.units(conn, aside);
    } finally {
      if (aside) this.restoreFull();
    }
  }

  /** Back to `synchronous = FULL`, or no commit at all: never a governance change left unsynced. */
  private restoreFull(): void {
    // SQLite refuses to change the safety level inside a transaction: end one left open.
    if (this.writer.inTransaction) {
      try {
        this.writer.exec('rollback');
      } catch { /* checked below */ }
    }
    try {
      this.writer.pragma('synchronous = FULL');
    } catch { /* checked below */ }
    if (this.writer.pragma('synchronous', { simple: true }) !== 2) {
      this.failed = new Error('the SQLite write connection could not be set back to synchronous = FULL; restart the server');
    }
  }

  private async units(conn: Kysely<Database>, aside: boolean): Promise<void> {
    await conn.executeQuery(BEGIN);
    const done: { unit: Unit; value: unknown }[] = [];
    // Refused, on what the batch had written so far: answered with the batch's outcome.
    const refused: { unit: Unit; err: unknown }[] = [];
    let broken: unknown = null;
    let taken = 0;
    while (taken < MAX_BATCH && this.queue.length > 0 && (!aside || this.queue[0]!.aside)) {
      const unit = this.queue.shift()!;
      taken += 1;
      try {
        await conn.executeQuery(SAVEPOINT);
        const value = await unit.work(conn);
        await conn.executeQuery(RELEASE);
        done.push({ unit, value });
      } catch (err) {
        if (!this.writer.inTransaction) {
          // SQLite gave the whole transaction up: this unit fails with it, like the others.
          broken = err;
          unit.reject(err);
          break;
        }
        refused.push({ unit, err });
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
    const settle = () => {
      for (const { unit, value } of done) unit.resolve(value);
      for (const { unit, err } of refused) unit.reject(err);
    };
    const fail = (err: unknown) => {
      for (const { unit } of done) unit.reject(err);
      for (const { unit } of refused) unit.reject(err);
    };
    if (broken !== null) {
      if (this.writer.inTransaction) await conn.executeQuery(ROLLBACK).catch(() => undefined);
      fail(broken);
      return;
    }
    if (!aside) {
      settle();
      return;
    }
    // Not awaited: the next batch runs while the WAL is synced.
    this.syncWal().then(settle, fail);
  }

  /** Syncs the WAL as it is now: joins a sync only if it has not started yet. */
  private syncWal(): Promise<void> {
    if (this.syncing === null) {
      this.syncing = this.datasyncWal().finally(() => { this.syncing = null; });
      return this.syncing;
    }
    // The sync under way may have begun before this commit's frames were written: one more.
    this.syncAgain ??= this.syncing.catch(() => undefined).then(() => {
      this.syncAgain = null;
      return this.syncWal();
    });
    return this.syncAgain;
  }

  private async datasyncWal(): Promise<void> {
    this.wal ??= open(this.walPath!, 'r');
    try {
      await this.syncFile(await this.wal);
    } catch (err) {
      // The units waiting fail (their rows stay committed: a part sent again replaces its row),
      // and later ones sync in their own commit, where SQLite reports what is wrong.
      this.asideOff = true;
      throw err;
    }
  }

  /** Waits for the WAL syncs under way, then closes the handle kept for them. */
  async close(): Promise<void> {
    this.asideOff = true;
    while (this.syncing || this.syncAgain) await (this.syncAgain ?? this.syncing)!.catch(() => undefined);
    const wal = this.wal;
    this.wal = null;
    await wal?.then((handle) => handle.close(), () => undefined);
  }
}
