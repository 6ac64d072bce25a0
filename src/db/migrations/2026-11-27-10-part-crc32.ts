/**
 * A part may be checked by its CRC-32 instead of its sha256: `crc32` is recorded for every
 * part from now on, and `sha256` only when the part was hashed (a client that checks its parts
 * by CRC-32 alone spares both sides a sha256 pass per part; the whole digest is still checked
 * at completion). Parts recorded before keep their sha256 and have no crc32.
 * Frozen once landed.
 */
import { type Kysely, SqliteAdapter, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) {
    await db.schema.alterTable('upload_parts').alterColumn('sha256', (c) => c.dropNotNull()).execute();
    await db.schema.alterTable('upload_parts').addColumn('crc32', 'varchar(8)').execute();
    return;
  }
  // SQLite cannot drop a NOT NULL: the table is rebuilt, in a transaction of its own (Kysely
  // runs SQLite migrations outside one), so a crash half-way leaves the table as it was.
  await db.transaction().execute(async (trx) => rebuildSqlite(trx));
}

async function rebuildSqlite(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('upload_parts_next')
    .addColumn('upload_id', 'varchar(36)', (c) => c.notNull().references('upload_sessions.id'))
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'varchar(64)')
    .addColumn('crc32', 'varchar(8)')
    .addColumn('etag', 'varchar(256)', (c) => c.notNull())
    .addColumn('received_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('upload_parts_pk', ['upload_id', 'number'])
    .execute();
  await sql`INSERT INTO upload_parts_next (upload_id, number, size, sha256, etag, received_at)
    SELECT upload_id, number, size, sha256, etag, received_at FROM upload_parts`.execute(db);
  await db.schema.dropTable('upload_parts').execute();
  await db.schema.alterTable('upload_parts_next').renameTo('upload_parts').execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
