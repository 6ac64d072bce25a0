/**
 * When a session's completion began. A completion under way holds the session open: garbage
 * collection does not expire it and an abort waits, so neither removes the parts while the
 * completion is publishing them. Frozen once landed.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('upload_sessions').addColumn('completing_at', 'varchar(32)').execute();
}
