/** The small part of MLflow tracking a client needs to log a run and register its model. Frozen once landed. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('experiments')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(500)', (c) => c.notNull().unique())
    .addColumn('artifact_location', 'varchar(2048)', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema.createTable('runs')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('experiment_id', 'varchar(36)', (c) => c.notNull().references('experiments.id'))
    .addColumn('name', 'varchar(500)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('start_time', 'bigint', (c) => c.notNull())
    .addColumn('end_time', 'bigint')
    .addColumn('artifact_uri', 'varchar(2048)', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('metrics', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('runs_experiment').on('runs').columns(['experiment_id', 'start_time']).execute();

  await db.schema.createTable('artifacts')
    .addColumn('path', 'varchar(2048)', (c) => c.primaryKey())
    .addColumn('digest', 'varchar(80)', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('uploaded_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('uploaded_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
