/** Datasets as records, lineage edges for impact queries, and model-inventory fields. Frozen once landed. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('datasets')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(128)', (c) => c.notNull())
    .addColumn('version', 'varchar(128)', (c) => c.notNull())
    .addColumn('uri', 'varchar(2048)')
    .addColumn('digest', 'varchar(80)')
    .addColumn('size', 'bigint')
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('schema', 'text')
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addUniqueConstraint('datasets_name_version', ['name', 'version'])
    .execute();

  await db.schema.createTable('version_datasets')
    .addColumn('version_id', 'varchar(36)', (c) => c.notNull().references('versions.id'))
    .addColumn('dataset_id', 'varchar(36)', (c) => c.notNull().references('datasets.id'))
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_datasets_pk', ['version_id', 'dataset_id', 'role'])
    .execute();
  await db.schema.createIndex('version_datasets_dataset').on('version_datasets').columns(['dataset_id', 'version_id']).execute();

  await db.schema.createTable('version_parents')
    .addColumn('version_id', 'varchar(36)', (c) => c.notNull().references('versions.id'))
    .addColumn('parent_id', 'varchar(36)', (c) => c.notNull().references('versions.id'))
    .addColumn('relation', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_parents_pk', ['version_id', 'parent_id'])
    .execute();
  await db.schema.createIndex('version_parents_parent').on('version_parents').columns(['parent_id', 'version_id']).execute();

  await db.schema.createTable('version_code')
    .addColumn('version_id', 'varchar(36)', (c) => c.primaryKey().references('versions.id'))
    .addColumn('repo', 'varchar(2048)', (c) => c.notNull())
    .addColumn('commit', 'varchar(128)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('version_code_commit').on('version_code').columns(['commit', 'version_id']).execute();

  await db.schema.alterTable('models').addColumn('responsible', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  await db.schema.alterTable('models').addColumn('validation_status', 'varchar(32)', (c) => c.notNull().defaultTo('not_validated')).execute();
  await db.schema.alterTable('models').addColumn('last_validated_at', 'varchar(32)').execute();
  await db.schema.alterTable('models').addColumn('next_validation_due', 'varchar(32)').execute();
  await db.schema.alterTable('models').addColumn('validity_period', 'varchar(64)').execute();
  await db.schema.alterTable('models').addColumn('policy_exceptions', 'text', (c) => c.notNull().defaultTo('[]')).execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
