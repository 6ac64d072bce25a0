/** Webhook subscriptions, their deliveries and every attempt. Frozen once landed. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('webhooks')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('secret', 'varchar(200)', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('model_id', 'varchar(36)', (c) => c.references('models.id'))
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('after_seq', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema.createTable('deliveries')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('webhook_id', 'varchar(36)', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event_seq', 'bigint')
    .addColumn('event_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('event_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('subject', 'varchar(128)', (c) => c.notNull())
    .addColumn('order_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('delivered_at', 'varchar(32)')
    .addColumn('lease_owner', 'varchar(36)')
    .addColumn('lease_until', 'varchar(32)')
    .addUniqueConstraint('deliveries_event', ['webhook_id', 'event_seq'])
    .execute();
  await db.schema.createIndex('deliveries_due').on('deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('deliveries_order').on('deliveries').columns(['webhook_id', 'order_key', 'status', 'event_seq']).execute();
  await db.schema.createIndex('deliveries_list').on('deliveries').columns(['webhook_id', 'created_at', 'id']).execute();

  await db.schema.createTable('delivery_attempts')
    .addColumn('delivery_id', 'varchar(36)', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'varchar(32)', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('response_excerpt', 'text')
    .addPrimaryKeyConstraint('delivery_attempts_pk', ['delivery_id', 'attempt'])
    .execute();

  await db.schema.createTable('dispatcher_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('fanout_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('dispatcher_state').values({ id: 1, fanout_seq: 0 }).execute();
}

export async function down(): Promise<void> {
  throw new Error('modelgate migrations are forward-only');
}
