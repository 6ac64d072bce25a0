/**
 * For every version, each dataset and commit it was built on, directly or through its parents
 * (the transitive closure of lineage), keyed for impact queries: "which versions did this
 * dataset or commit reach" becomes one index range, with no walk of parent edges and no probe
 * per version. Triggers on the three edge tables keep it, so every writer of edges does,
 * whatever its version (a server not yet upgraded, during a rolling upgrade, included); it is
 * filled for the versions that exist after the triggers are in place (on PostgreSQL in the
 * same transaction, so no edge committed in between is missed; SQLite has no other writer).
 * Frozen once landed.
 */
import { type Kysely, SqliteAdapter, sql } from 'kysely';

/** The closure of the lineage edges already stored. */
const FILL_LINEAGE_SOURCES = `
INSERT INTO lineage_sources (source_kind, source_ref, model_id, version, direct)
WITH RECURSIVE reach(source_kind, source_ref, version_id, direct) AS (
  SELECT 'dataset', dataset_id, version_id, 1 FROM version_datasets
  UNION
  SELECT 'commit', "commit", version_id, 1 FROM version_code
  UNION
  SELECT r.source_kind, r.source_ref, p.version_id, 0 FROM reach r JOIN version_parents p ON p.parent_id = r.version_id
)
SELECT r.source_kind, r.source_ref, v.model_id, v.version, MAX(r.direct)
FROM reach r JOIN versions v ON v.id = r.version_id
GROUP BY r.source_kind, r.source_ref, v.model_id, v.version`;

/**
 * A version's own dataset or commit makes its row direct, whichever edge came first; a parent
 * edge copies the parent's rows (complete: the parent committed before the child could name
 * it) as inherited, leaving a row the version has already alone.
 */
const KEY = 'ON CONFLICT (source_kind, source_ref, model_id, version)';
const TRIGGERS = [
  {
    name: 'lineage_sources_from_dataset', table: 'version_datasets',
    body: `INSERT INTO lineage_sources (source_kind, source_ref, model_id, version, direct)
      SELECT 'dataset', NEW.dataset_id, v.model_id, v.version, 1 FROM versions v WHERE v.id = NEW.version_id
      ${KEY} DO UPDATE SET direct = 1`,
  },
  {
    name: 'lineage_sources_from_code', table: 'version_code',
    body: `INSERT INTO lineage_sources (source_kind, source_ref, model_id, version, direct)
      SELECT 'commit', NEW."commit", v.model_id, v.version, 1 FROM versions v WHERE v.id = NEW.version_id
      ${KEY} DO UPDATE SET direct = 1`,
  },
  {
    name: 'lineage_sources_from_parent', table: 'version_parents',
    body: `INSERT INTO lineage_sources (source_kind, source_ref, model_id, version, direct)
      SELECT s.source_kind, s.source_ref, c.model_id, c.version, 0
      FROM versions p JOIN lineage_sources s ON s.model_id = p.model_id AND s.version = p.version
      JOIN versions c ON c.id = NEW.version_id
      WHERE p.id = NEW.parent_id
      ${KEY} DO NOTHING`,
  },
];

export async function up(db: Kysely<any>): Promise<void> {
  // The key holds everything an impact query reads: on SQLite the table is its key (no
  // rowid); on PostgreSQL the key's index carries `direct`, so the range is an index-only scan.
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    await sql`CREATE TABLE lineage_sources (
      source_kind varchar(8) NOT NULL, source_ref varchar(128) NOT NULL,
      model_id varchar(36) NOT NULL REFERENCES models (id), version integer NOT NULL, direct integer NOT NULL,
      PRIMARY KEY (source_kind, source_ref, model_id, version)
    ) WITHOUT ROWID`.execute(db);
  } else {
    await sql`CREATE TABLE lineage_sources (
      source_kind varchar(8) NOT NULL, source_ref varchar(128) NOT NULL,
      model_id varchar(36) NOT NULL REFERENCES models (id), version integer NOT NULL, direct integer NOT NULL,
      PRIMARY KEY (source_kind, source_ref, model_id, version) INCLUDE (direct)
    )`.execute(db);
  }
  // A new version inherits its parents' sources: found by the parent's model and number.
  await db.schema.createIndex('lineage_sources_version').on('lineage_sources').columns(['model_id', 'version']).execute();
  // Deleted versions are few; impact leaves them out without reading every affected row.
  await db.schema.createIndex('versions_deleted').on('versions').columns(['model_id', 'version']).where(sql.ref('deleted_at'), 'is not', null).execute();
  for (const trigger of TRIGGERS) {
    if (db.getExecutor().adapter instanceof SqliteAdapter) {
      await sql.raw(`CREATE TRIGGER ${trigger.name} AFTER INSERT ON ${trigger.table} BEGIN ${trigger.body}; END`).execute(db);
    } else {
      await sql.raw(`CREATE FUNCTION ${trigger.name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${trigger.body}; RETURN NULL; END $$`).execute(db);
      await sql.raw(`CREATE TRIGGER ${trigger.name} AFTER INSERT ON ${trigger.table} FOR EACH ROW EXECUTE FUNCTION ${trigger.name}()`).execute(db);
    }
  }
  await sql.raw(FILL_LINEAGE_SOURCES).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
