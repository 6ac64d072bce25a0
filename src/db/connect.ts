/**
 * Opens the database named by a URL: `postgres://...` for PostgreSQL, anything else is a
 * SQLite file path. Migrations run on open; on PostgreSQL Kysely's migrator holds an
 * advisory lock, so several servers starting at once migrate exactly once.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { migrations } from './migrations/index.js';
import { CurrentSchemaPostgresDialect } from './scoped-introspector.js';
import { withNamedStatements } from './postgres-statement-names.js';
import { withStatementCache, type WriteCount } from './sqlite-statement-cache.js';
import type { Database } from './schema.js';

/** What differs between the two databases, as capabilities rather than dialect checks. */
export interface DbCapabilities {
  /** `SELECT ... FOR UPDATE` row locks. SQLite has one writer at a time and needs none. */
  rowLocks: boolean;
  /**
   * SQL quoting a text column as a JSON string, as JSON.stringify does (NULL as `null`), except
   * that text holding control characters may come out otherwise: audit verify has the database
   * build the text each entry's hash covers, and checks an entry that does not match again
   * from its fields. SQLite's json_quote is exact; PostgreSQL's to_json cost twice as much as
   * escaping `\` and `"` alone, which is all names and times ever need.
   */
  jsonText(column: string): string;
}

export interface DbHandle {
  db: Kysely<Database>;
  /** SQLite only: the raw write connection (the group committer asks it whether a transaction is open). */
  writer?: SQLite.Database;
  /**
   * SQLite only: a second, read-only connection for the prepared hot reads. They see only
   * committed data (WAL snapshots) and never wait behind a write transaction, which holds
   * the single write connection across its awaits. Everything else, `uow.read` included
   * (some of its callers write), goes through the write connection.
   */
  reader?: SQLite.Database;
  /** SQLite only: statements run on the write connection that may have committed (see sqlite-statement-cache.ts). */
  writes?: WriteCount;
  /** PostgreSQL only: the pool, for the prepared hot reads. */
  pool?: pg.Pool;
  capabilities: DbCapabilities;
  kind: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export interface OpenOptions {
  /** PostgreSQL only: the schema to use (created if missing). Tests use one per run. */
  schema?: string;
  poolSize?: number;
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<DbHandle> {
  const handle = isPostgresUrl(url) ? await openPostgres(url, options) : openSqlite(url);
  try {
    await migrate(handle);
  } catch (err) {
    await handle.close();
    throw err;
  }
  if (handle.kind === 'sqlite' && url !== ':memory:') attachSqliteReader(handle, url);
  return handle;
}

function openSqlite(path: string): DbHandle {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  // FULL: a transaction that returned is on disk, even if the machine loses power.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 10000');
  const writes: WriteCount = { value: 0 };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database, writes) }) });
  return { db, writer: database, writes, kind: 'sqlite', capabilities: { rowLocks: false, jsonText: (column) => `json_quote(cast(${column} as text))` }, close: () => db.destroy() };
}

/** Opens the read-only connection once the schema is migrated (an in-memory database has none). */
function attachSqliteReader(handle: DbHandle, path: string): void {
  const reader = new SQLite(path, { readonly: true });
  reader.pragma('busy_timeout = 10000');
  const closeWriter = handle.close;
  handle.reader = reader;
  handle.close = async () => {
    reader.close();
    await closeWriter();
  };
}

async function openPostgres(url: string, options: OpenOptions): Promise<DbHandle> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  // Loaded only when asked for: an embedded (SQLite) server starts without it.
  const { default: pg } = await import('pg');
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({ ...sessionOptions(url, schema), max: options.poolSize ?? 10 });
  // Surface a bad URL or a server that is down now, as one clear error, not on first request.
  const client = await pool.connect();
  client.release();
  pool.on('error', () => { /* an idle client died; the pool replaces it */ });
  const db = new Kysely<Database>({ dialect: new CurrentSchemaPostgresDialect({ pool: withNamedStatements(pool) }) });
  return { db, pool, kind: 'postgres', capabilities: { rowLocks: true, jsonText: (column) => `coalesce('"' || replace(replace(${column}, E'\\\\', E'\\\\\\\\'), '"', E'\\\\"') || '"', 'null')` }, close: () => db.destroy() };
}

/**
 * The connection string and the session settings every connection starts with: two planner
 * settings for this workload, then any `options` the URL gives (so a deployment can set its
 * own; pg would otherwise drop ours for them), then the schema when one is named:
 * - jit off: JIT compiles a query whose estimated cost is high; a recursive CTE's estimate
 *   (lineage impact) is wild, and compiling took longer than running, 12 ms per impact query.
 *   Every query here is short.
 * - random_page_cost 1.1 (the default 4 models spinning disks): a registry's working set is
 *   cached, and at 4 the planner scanned all 100,000 tag rows (9 ms) rather than probe the
 *   index for a model's 1,000 versions (2 ms) when a search filters by tag.
 */
function sessionOptions(url: string, schema: string | undefined): { connectionString: string; options: string } {
  const ours = ['-c jit=off -c random_page_cost=1.1', schema ? `-c search_path=${schema}` : null];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // A form only pg's own parser reads (a Unix socket with a user: postgres://u@/db?host=/run/pg):
    // passed as it is; options in such a URL would replace ours.
    return { connectionString: url, options: ours.filter(Boolean).join(' ') };
  }
  const given = parsed.searchParams.get('options');
  parsed.searchParams.delete('options');
  return { connectionString: parsed.toString(), options: [ours[0], given, ours[1]].filter(Boolean).join(' ') };
}

async function migrate(handle: DbHandle): Promise<void> {
  const run = async (db: Kysely<Database>, schema?: string) => {
    // With no schema named, Kysely looks for its tables in every schema of the database and
    // takes another schema's for its own.
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, ...(schema ? { migrationTableSchema: schema } : {}) });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  };
  if (handle.kind !== 'postgres') return run(handle.db);
  // Kysely's own lock lives in a table it creates first; servers starting together on an
  // empty schema race on creating that table. A session advisory lock, per schema, comes first.
  await handle.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtext('modelgate.migrate'), hashtext(current_schema()))`.execute(conn);
    try {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(conn);
      await run(conn, rows[0]!.schema);
    } finally {
      await sql`select pg_advisory_unlock(hashtext('modelgate.migrate'), hashtext(current_schema()))`.execute(conn);
    }
  });
}
