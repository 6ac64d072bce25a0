/** The first schema. Frozen: never edit a landed migration, add a new one. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('models')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('owner', 'varchar(64)', (c) => c.notNull())
    .addColumn('intended_use', 'text', (c) => c.notNull())
    .addColumn('restrictions', 'text', (c) => c.notNull())
    .addColumn('risk_tier', 'varchar(16)')
    .addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('models_created_at').on('models').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('models_updated_at').on('models').columns(['updated_at', 'id']).execute();

  await db.schema.createTable('model_former_names')
    .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .execute();

  await db.schema.createTable('model_tags')
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('key', 'varchar(128)', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_tags_pk', ['model_id', 'key'])
    .execute();
  await db.schema.createIndex('model_tags_key').on('model_tags').columns(['key', 'model_id']).execute();

  await db.schema.createTable('versions')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('digest', 'varchar(80)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('stage', 'varchar(16)', (c) => c.notNull())
    .addColumn('files', 'text', (c) => c.notNull())
    .addColumn('source_uri', 'text')
    .addColumn('metrics', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('model_card', 'text')
    .addColumn('signature', 'text')
    .addColumn('lineage', 'text', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('left_development_at', 'varchar(32)')
    .addColumn('deleted_at', 'varchar(32)')
    .addUniqueConstraint('versions_model_version', ['model_id', 'version'])
    .execute();
  await db.schema.createIndex('versions_model_stage').on('versions').columns(['model_id', 'stage', 'version']).execute();

  await db.schema.createTable('version_metrics')
    .addColumn('version_id', 'varchar(36)', (c) => c.notNull().references('versions.id'))
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('name', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_metrics_pk', ['version_id', 'name'])
    .execute();
  await db.schema.createIndex('version_metrics_lookup').on('version_metrics').columns(['model_id', 'name', 'value']).execute();

  await db.schema.createTable('version_tags')
    .addColumn('version_id', 'varchar(36)', (c) => c.notNull().references('versions.id'))
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('key', 'varchar(128)', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_tags_pk', ['version_id', 'key'])
    .execute();
  await db.schema.createIndex('version_tags_lookup').on('version_tags').columns(['model_id', 'key']).execute();

  await db.schema.createTable('version_files')
    .addColumn('version_id', 'varchar(36)', (c) => c.notNull().references('versions.id'))
    .addColumn('path', 'varchar(1024)', (c) => c.notNull())
    .addColumn('digest', 'varchar(80)', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_files_pk', ['version_id', 'path'])
    .execute();
  await db.schema.createIndex('version_files_digest').on('version_files').column('digest').execute();

  await db.schema.createTable('aliases')
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('alias', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('aliases_pk', ['model_id', 'alias'])
    .execute();

  await db.schema.createTable('promotions')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('target', 'varchar(80)', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('requested_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('decided_at', 'varchar(32)')
    .addColumn('checks', 'text', (c) => c.notNull())
    .addColumn('approvals', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('promotions_status').on('promotions').columns(['status', 'created_at', 'id']).execute();
  await db.schema.createIndex('promotions_model').on('promotions').columns(['model_id', 'created_at', 'id']).execute();

  await db.schema.createTable('users')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('username', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .execute();

  await db.schema.createTable('api_tokens')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('prefix', 'varchar(16)', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(32)')
    .execute();

  await db.schema.createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('time', 'varchar(32)', (c) => c.notNull())
    .addColumn('actor', 'varchar(64)', (c) => c.notNull())
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('resource', 'varchar(512)', (c) => c.notNull())
    .addColumn('changes', 'text', (c) => c.notNull())
    .addColumn('request_id', 'varchar(128)')
    .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_resource').on('audit_log').columns(['resource', 'seq']).execute();
  await db.schema.createIndex('audit_actor').on('audit_log').columns(['actor', 'seq']).execute();
  await db.schema.createIndex('audit_action').on('audit_log').columns(['action', 'seq']).execute();
  await db.schema.createIndex('audit_time').on('audit_log').columns(['time', 'seq']).execute();

  await db.schema.createTable('outbox_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('type', 'varchar(64)', (c) => c.notNull())
    .addColumn('subject', 'varchar(128)', (c) => c.notNull())
    .addColumn('time', 'varchar(32)', (c) => c.notNull())
    .addColumn('actor', 'varchar(64)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();

  await db.schema.createTable('journal_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('audit_seq', 'bigint', (c) => c.notNull())
    .addColumn('audit_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('event_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('journal_head').values({ id: 1, audit_seq: 0, audit_hash: '0'.repeat(64), event_seq: 0 }).execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
