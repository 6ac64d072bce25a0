/**
 * The versions out of development, by model: impact queries name the few of a model's
 * reached versions that are not in development, and PostgreSQL, which guessed a thousand
 * reached models where there were a hundred, read all of `versions` to find them (47 of 58 ms
 * for a dataset used by 10,000 versions). Versions are created in development, so creating
 * one does not touch this index; only a promotion does. Frozen once landed.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('versions_released').on('versions').columns(['model_id', 'stage', 'version'])
    .where(sql.ref('stage'), '<>', 'development').execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
