/**
 * The record of stored blobs (for quotas and garbage collection) and resumable upload
 * sessions with their parts. Blobs that versions or run artifacts already reference are
 * recorded as present. Frozen once landed.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('blobs')
    .addColumn('digest', 'varchar(80)', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('ref_gen', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('touched_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('blobs_state_touched').on('blobs').columns(['state', 'touched_at']).execute();
  await db.schema.createIndex('artifacts_digest').on('artifacts').column('digest').execute();

  const now = new Date().toISOString();
  await sql`INSERT INTO blobs (digest, size, state, ref_gen, created_at, touched_at)
    SELECT digest, MAX(size), 'present', 0, ${now}, ${now} FROM (
      SELECT digest, size FROM version_files UNION ALL SELECT digest, size FROM artifacts
    ) AS referenced GROUP BY digest`.execute(db);

  // One garbage collection at a time across every server sharing the database.
  await db.schema.createTable('maintenance_leases')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('holder', 'varchar(64)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema.createTable('upload_sessions')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('part_size', 'bigint', (c) => c.notNull())
    .addColumn('part_count', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'varchar(80)')
    .addColumn('backend_ref', 'varchar(1024)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('digest', 'varchar(80)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('completed_at', 'varchar(32)')
    .execute();
  await db.schema.createIndex('upload_sessions_resume').on('upload_sessions').columns(['created_by', 'sha256', 'status']).execute();
  await db.schema.createIndex('upload_sessions_expiry').on('upload_sessions').columns(['status', 'expires_at']).execute();

  await db.schema.createTable('upload_parts')
    .addColumn('upload_id', 'varchar(36)', (c) => c.notNull().references('upload_sessions.id'))
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('etag', 'varchar(256)', (c) => c.notNull())
    .addColumn('received_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('upload_parts_pk', ['upload_id', 'number'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
