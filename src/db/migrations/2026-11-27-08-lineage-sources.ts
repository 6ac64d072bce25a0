/**
 * For every version, each dataset and commit it was built on, directly or through its parents
 * (the transitive closure of lineage, kept at write time), keyed for impact queries: "which
 * versions did this dataset or commit reach" becomes one index range, with no walk of parent
 * edges and no probe per version. Filled for the versions that exist. Frozen once landed.
 */
import { type Kysely, SqliteAdapter, sql } from 'kysely';

/**
 * The closure of the lineage edges already stored. Exported for the bench seed, which writes
 * edges in bulk and fills the closure the same way.
 */
export const FILL_LINEAGE_SOURCES = `
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
  await sql.raw(FILL_LINEAGE_SOURCES).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
