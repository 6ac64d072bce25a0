/** Environments, deployments and their history, production observations, alert rules and alerts. Frozen once landed. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('environments')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('production', 'integer', (c) => c.notNull())
    .addColumn('require_approved', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema.createTable('deployments')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('environment', 'varchar(64)', (c) => c.notNull())
    .addColumn('target', 'varchar(256)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('replicas', 'integer')
    .addColumn('traffic_share', 'double precision')
    .addColumn('source', 'varchar(256)', (c) => c.notNull())
    .addColumn('reported_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('deployments_model').on('deployments').columns(['model_id', 'environment', 'updated_at']).execute();
  await db.schema.createIndex('deployments_env').on('deployments').columns(['environment', 'status']).execute();

  await db.schema.createTable('deployment_history')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('deployment_id', 'varchar(36)', (c) => c.notNull().references('deployments.id'))
    .addColumn('at', 'varchar(32)', (c) => c.notNull())
    .addColumn('actor', 'varchar(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('replicas', 'integer')
    .addColumn('traffic_share', 'double precision')
    .addColumn('note', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('deployment_history_deployment').on('deployment_history').columns(['deployment_id', 'at']).execute();

  await db.schema.createTable('observations')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('deployment_id', 'varchar(36)')
    .addColumn('metric', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('window_start', 'varchar(32)', (c) => c.notNull())
    .addColumn('window_end', 'varchar(32)', (c) => c.notNull())
    .addColumn('source', 'varchar(256)', (c) => c.notNull())
    .addColumn('recorded_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('recorded_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('observations_series').on('observations').columns(['model_id', 'version', 'metric', 'window_end']).execute();

  await db.schema.createTable('alert_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('models.id'))
    .addColumn('metric', 'varchar(250)', (c) => c.notNull())
    .addColumn('op', 'varchar(2)', (c) => c.notNull())
    .addColumn('threshold', 'double precision', (c) => c.notNull())
    .addColumn('windows', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema.createTable('alerts')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('rule_id', 'varchar(36)', (c) => c.notNull().references('alert_rules.id'))
    .addColumn('model_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('raised_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('resolved_at', 'varchar(32)')
    .addColumn('observations', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alerts_model').on('alerts').columns(['model_id', 'version', 'resolved_at']).execute();

  await db.schema.alterTable('versions').addColumn('degraded_at', 'varchar(32)').execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
