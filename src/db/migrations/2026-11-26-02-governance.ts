/** Policies, promotion decisions and target history for the governance layer. Frozen once landed. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('policies')
    .addColumn('scope', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_by', 'varchar(64)', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('promotions').addColumn('policy', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  await db.schema.alterTable('promotions').addColumn('from_stage', 'varchar(16)', (c) => c.notNull().defaultTo('development')).execute();
  await db.schema.alterTable('promotions').addColumn('target_holder', 'integer').execute();
  await db.schema.alterTable('promotions').addColumn('decided_by', 'varchar(64)').execute();
  await db.schema.alterTable('promotions').addColumn('decision_comment', 'text').execute();
  await db.schema.createIndex('promotions_version').on('promotions').columns(['model_id', 'version', 'target', 'status']).execute();

  await db.schema.createTable('holdings')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('target', 'varchar(80)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('ended_at', 'varchar(32)')
    .addColumn('via', 'varchar(16)', (c) => c.notNull())
    .addColumn('promotion_id', 'varchar(36)')
    .addColumn('actor', 'varchar(64)', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('holdings_target').on('holdings').columns(['model_id', 'target', 'started_at']).execute();

  await db.schema.alterTable('users').addColumn('groups', 'text', (c) => c.notNull().defaultTo('[]')).execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
