/**
 * The hot lookups on SQLite (see `hot-reads.ts`): raw prepared better-sqlite3 statements on
 * the read-only connection, which sees committed data only and never waits for a writer.
 * Kysely builds and compiles a query in about 15 µs, more than SQLite needs to answer one of
 * these by index.
 *
 * The epoch moves with every statement this process's write connection ran that may have
 * committed (counted as each returns: exact, and free to read), and with `PRAGMA data_version`,
 * which changes whenever another connection commits, in any process: a second server on the
 * same file (not a supported deployment: use PostgreSQL) or an operator's sqlite3 session.
 * Reading data_version costs three system calls (6 µs under load, a fifth of a resolve), so
 * it is read at most once a millisecond: such outside writes are seen within a millisecond.
 */
import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { DbCapabilities } from './connect.js';
import type { WriteCount } from './sqlite-statement-cache.js';
import { hotReads, tokenFromRow, TOKEN_COLUMNS, type HotSource, type Loaded, type TokenRow } from './hot-reads.js';
import type { AuditHashInput } from '../core/ports.js';
import { KyselyJournalRepository, auditHashInputColumns } from './repositories/journal-repository.js';
import { toModel } from './repositories/model-repository.js';
import { toVersion, type VersionRow } from './repositories/version-repository.js';
import type { Database, ModelsTable } from './schema.js';
import { PageReadersUnavailable, SqlitePageReaders } from './sqlite-page-readers.js';

// A version's aliases and a model's former names ride along as JSON arrays: one statement, not two.
// The model's name is looked up, not joined, so that SQLite starts from the version's index
// (version-repository.ts, versionsWithModel).
const VERSION = 'select v.*, (select name from models m where m.id = v.model_id) as model_name, (select json_group_array(alias) from '
  + '(select alias from aliases a where a.model_id = v.model_id and a.version = v.version order by alias)) as alias_list '
  + 'from versions v';
const MODEL = 'select m.*, (select json_group_array(name) from (select name from model_former_names f where f.model_id = m.id order by name)) as former_list from models m';

type WithList<T, K extends string> = T & { [key in K]: string };

/** How often data_version is read, in ms: the delay before writes by other processes are seen. */
const OUTSIDE_WRITES_MS = 1;

function source(db: SQLite.Database, writes: WriteCount): HotSource {
  const s = {
    dataVersion: db.prepare<[], number>('pragma data_version').pluck(),
    modelByName: db.prepare<[string], WithList<ModelsTable, 'former_list'>>(`${MODEL} where m.name = ?`),
    modelByFormerName: db.prepare<[string], WithList<ModelsTable, 'former_list'>>(`${MODEL} where m.id = (select model_id from model_former_names where name = ?)`),
    version: db.prepare<[string, number], WithList<VersionRow, 'alias_list'>>(`${VERSION} where v.model_id = ? and v.version = ? and v.deleted_at is null`),
    newestInStage: db.prepare<[string, string], WithList<VersionRow, 'alias_list'>>(`${VERSION} where v.model_id = ? and v.stage = ? and v.deleted_at is null order by v.version desc limit 1`),
    alias: db.prepare<[string, string], { alias: string; version: number }>('select alias, version from aliases where model_id = ? and alias = ?'),
    token: db.prepare<[string], TokenRow>(
      `select ${TOKEN_COLUMNS} `
      + 'from api_tokens t inner join users u on u.id = t.user_id where t.hash = ? and t.revoked_at is null'),
  };
  const version = (row: WithList<VersionRow, 'alias_list'> | undefined) => (row ? toVersion(row, JSON.parse(row.alias_list) as string[]) : null);
  // One connection, read synchronously: the reads are in order, no ticket needed.
  let epoch = { ticket: 0, value: 0 };
  let writesSeen = -1;
  let dataVersion = -1;
  let checkedAt = -Infinity;
  const readEpoch = () => {
    let changed = writes.value !== writesSeen;
    writesSeen = writes.value;
    const now = performance.now();
    if (now - checkedAt >= OUTSIDE_WRITES_MS) {
      checkedAt = now;
      const current = s.dataVersion.get()!;
      changed ||= current !== dataVersion;
      dataVersion = current;
    }
    if (changed) epoch = { ticket: 0, value: epoch.value + 1 };
    return epoch;
  };
  // The epoch is read just before the statement, with nothing in between: both are synchronous.
  const at = <T>(read: () => T): Loaded<T> => {
    const before = readEpoch();
    return { value: read(), epoch: before };
  };
  return {
    epoch: readEpoch,
    epochAtOnce: readEpoch,
    modelByName: (name) => at(() => {
      const row = s.modelByName.get(name) ?? s.modelByFormerName.get(name);
      return row ? toModel(row, JSON.parse(row.former_list) as string[]) : null;
    }),
    version: (modelId, number) => at(() => version(s.version.get(modelId, number))),
    newestInStage: (modelId, stage) => at(() => version(s.newestInStage.get(modelId, stage))),
    alias: (modelId, alias) => at(() => {
      const row = s.alias.get(modelId, alias);
      return row ? { alias: row.alias, version: Number(row.version) } : null;
    }),
    token: (hash) => at(() => {
      const row = s.token.get(hash);
      return row ? tokenFromRow(row) : null;
    }),
  };
}

/**
 * Where in the chain verify's pages start to be read on worker threads: the workers take
 * 80-150 ms to start on this machine, more than they save on a short chain (100,000 entries
 * read on workers started for each verify, without hashing there, verified at 250-290k
 * entries/s against 308-369k; 1,000,000 from here, hashed there, 339-438k against 239-344k:
 * bench/README.md, item 60). A chain just past it starts them for a page or two; the walk
 * never waits for them.
 */
const PAGES_ON_WORKERS_FROM = 200_000;

/**
 * Audit verify reads the whole chain: rows as arrays (better-sqlite3 builds a row object
 * property by property in C++, which cost more than the read), by a prepared statement on
 * read-only connections, which see committed data only, as verify's page-by-page walk expects
 * (audit-chain.ts): past the chain's first entries, read and hashed on worker threads, two
 * pages at once (sqlite-page-readers.ts); on the server's read-only connection before that,
 * while the workers start, and where they cannot.
 */
class SqliteJournalReads extends KyselyJournalRepository {
  /**
   * Pages of 1,000 entries, not verify's 5,000: a page read here is read at once, on this
   * thread, so reading ahead overlaps nothing and only keeps more rows alive. The three pages
   * held at 5,000 outlived V8's young generation and were copied into the old one, which then
   * filled and was collected: a fifth of a first verify's time was garbage collection. Verify
   * of 100,000 entries on servers alternating on one file, first / second / third verify of
   * each: 148-205k / 212-343k / 286-347k -> 260-267k / 515-531k / 513-544k entries/s; 500 and
   * 2,000 made the same (bench/README.md, item 61). The pages the workers read past the first
   * 200,000 entries are the same size: they send back only hashes and verdicts.
   */
  readonly auditPageSize = 1000;
  private readonly range: SQLite.Statement<[number, number], AuditHashInput>;
  private readonly pages: SqlitePageReaders | null;

  constructor(reader: SQLite.Database, db: Kysely<Database>, caps: DbCapabilities) {
    super(db, caps);
    const sql = `select ${auditHashInputColumns(caps)} from audit_log where seq > ? order by seq limit ?`;
    this.range = reader.prepare<[number, number], AuditHashInput>(sql).raw(true) as unknown as SQLite.Statement<[number, number], AuditHashInput>;
    this.pages = reader.memory ? null : new SqlitePageReaders(reader.name, sql);
  }

  override async auditHashInputs(afterSeq: number, limit: number): Promise<AuditHashInput[]> {
    if (this.pages && afterSeq >= PAGES_ON_WORKERS_FROM) {
      try {
        return await this.pages.read(afterSeq, limit);
      } catch (err) {
        if (!(err instanceof PageReadersUnavailable)) throw err;
      }
    }
    return this.range.all(afterSeq, limit);
  }

  /** Pages read on the worker threads so far. */
  get pagesOnWorkers(): number {
    return this.pages?.served ?? 0;
  }

  close(): Promise<void> {
    return this.pages?.close() ?? Promise.resolve();
  }
}

/** Read repositories for `uow.read` on SQLite: the hot lookups as prepared statements, remembered per data_version. */
export function sqliteHotReads(reader: SQLite.Database, writes: WriteCount, db: Kysely<Database>, caps: DbCapabilities) {
  const journal = new SqliteJournalReads(reader, db, caps);
  return { ...hotReads(source(reader, writes), db, caps), journal, close: () => journal.close() };
}
