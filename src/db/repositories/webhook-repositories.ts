import { sql, type Kysely } from 'kysely';
import type { Cursor, Delivery, DeliveryAttempt, DeliveryRepository, DeliveryStatus, Webhook, WebhookRepository } from '../../core/ports.js';
import type { DbCapabilities } from '../connect.js';
import type { Database, DeliveriesTable, DeliveryAttemptsTable, WebhooksTable } from '../schema.js';
import { fixedQuery, onlyRow } from './fixed-query.js';

export class KyselyWebhookRepository implements WebhookRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(w: Webhook): Promise<void> {
    await this.db.insertInto('webhooks').values({
      id: w.id, url: w.url, secret: w.secret, events: JSON.stringify(w.events), model_id: w.modelId, active: w.active ? 1 : 0,
      after_seq: w.afterSeq, created_by: w.createdBy, created_at: w.createdAt, updated_at: w.updatedAt,
    }).execute();
  }

  async get(id: string): Promise<Webhook | null> {
    const row = await this.base().where('w.id', '=', id).executeTakeFirst();
    return row ? toWebhook(row) : null;
  }

  async list(): Promise<Webhook[]> {
    return (await allWebhooks(this.db)).rows.map(toWebhook);
  }

  async update(id: string, patch: Partial<Pick<Webhook, 'url' | 'secret' | 'events' | 'active'>>, updatedAt: string): Promise<void> {
    await this.db.updateTable('webhooks').set({
      ...(patch.url !== undefined && { url: patch.url }),
      ...(patch.secret !== undefined && { secret: patch.secret }),
      ...(patch.events !== undefined && { events: JSON.stringify(patch.events) }),
      ...(patch.active !== undefined && { active: patch.active ? 1 : 0 }),
      updated_at: updatedAt,
    }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('webhooks').where('id', '=', id).execute();
  }

  private base() {
    return webhooksWithModel(this.db);
  }
}

function webhooksWithModel(db: Kysely<Database>) {
  return db.selectFrom('webhooks as w').leftJoin('models as m', 'm.id', 'w.model_id').selectAll('w').select('m.name as model_name');
}
// The dispatcher's, for every batch of events.
const allWebhooks = fixedQuery((db) => webhooksWithModel(db).orderBy('w.created_at').orderBy('w.id'));

function toWebhook(row: WebhooksTable & { model_name: string | null }): Webhook {
  return {
    id: row.id, url: row.url, secret: row.secret, events: JSON.parse(row.events) as string[], modelId: row.model_id,
    model: row.model_name, active: Number(row.active) === 1, afterSeq: Number(row.after_seq), createdBy: row.created_by,
    createdAt: row.created_at, updatedAt: row.updated_at,
  };
}

// The dispatcher runs these after every commit: built and compiled once (fixed-query.ts).
const readFanout = fixedQuery((db) => db.selectFrom('dispatcher_state').select('fanout_seq').where('id', '=', 1));
const lockFanoutRow = fixedQuery((db) => db.selectFrom('dispatcher_state').select('fanout_seq').where('id', '=', 1).forUpdate());
const writeFanout = fixedQuery((db, seq: number) => db.updateTable('dispatcher_state').set({ fanout_seq: seq }).where('id', '=', 1));

/** Deliveries due at `now`, oldest first. */
function dueDeliveries(db: Kysely<Database>, now: string, limit: number) {
  return db.selectFrom('deliveries as d').select('d.id')
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('d.lease_until', 'is', null), eb('d.lease_until', '<', now)]))
    .where('d.webhook_id', 'in', (eb) => eb.selectFrom('webhooks').select('id').where('active', '=', 1))
    // In order per model: nothing earlier for the same webhook and model may still be pending.
    .where(({ not, exists, selectFrom }) => not(exists(
      selectFrom('deliveries as e').select('e.id')
        .whereRef('e.webhook_id', '=', 'd.webhook_id').whereRef('e.order_key', '=', 'd.order_key')
        .where('e.status', '=', 'pending').whereRef('e.event_seq', '<', 'd.event_seq'),
    )))
    .orderBy('d.event_seq').orderBy('d.created_at').limit(limit);
}
const due = fixedQuery(dueDeliveries);
const lockDue = fixedQuery((db, now: string, limit: number) => dueDeliveries(db, now, limit).forUpdate().skipLocked());

export class KyselyDeliveryRepository implements DeliveryRepository {
  constructor(private readonly db: Kysely<Database>, private readonly caps: DbCapabilities) {}

  async lockFanout(): Promise<number> {
    return Number(onlyRow(await (this.caps.rowLocks ? lockFanoutRow : readFanout)(this.db)).fanout_seq);
  }

  async setFanout(seq: number): Promise<void> {
    await writeFanout(this.db, seq);
  }

  async insert(deliveries: Delivery[]): Promise<void> {
    for (let i = 0; i < deliveries.length; i += 200) {
      await this.db.insertInto('deliveries').values(deliveries.slice(i, i + 200).map((d) => ({
        id: d.id, webhook_id: d.webhookId, event_seq: d.eventSeq, event_id: d.eventId, event_type: d.eventType, subject: d.subject, order_key: d.orderKey,
        payload: d.payload, status: d.status, attempts: d.attempts, next_attempt_at: d.nextAttemptAt, last_status: d.lastStatus,
        last_error: d.lastError, created_at: d.createdAt, delivered_at: d.deliveredAt, lease_owner: null, lease_until: null,
      }))).onConflict((oc) => oc.columns(['webhook_id', 'event_seq']).doNothing()).execute();
    }
  }

  async claim(owner: string, now: string, leaseUntil: string, limit: number): Promise<Delivery[]> {
    const ids = (await (this.caps.rowLocks ? lockDue : due)(this.db, now, limit)).rows.map((r) => r.id);
    if (ids.length === 0) return [];
    await this.db.updateTable('deliveries').set({ lease_owner: owner, lease_until: leaseUntil }).where('id', 'in', ids).execute();
    const rows = await this.db.selectFrom('deliveries').selectAll().where('id', 'in', ids).orderBy('event_seq').execute();
    return rows.map(toDelivery);
  }

  async settle(id: string, owner: string, a: DeliveryAttempt, state: Pick<Delivery, 'status' | 'attempts' | 'nextAttemptAt' | 'lastStatus' | 'lastError' | 'deliveredAt'>): Promise<boolean> {
    const updated = await this.db.updateTable('deliveries').set({
      status: state.status, attempts: state.attempts, next_attempt_at: state.nextAttemptAt, last_status: state.lastStatus,
      last_error: state.lastError, delivered_at: state.deliveredAt, lease_owner: null, lease_until: null,
    }).where('id', '=', id).where('lease_owner', '=', owner).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await this.db.insertInto('delivery_attempts').values({
      delivery_id: id, attempt: a.attempt, at: a.at, status: a.status, latency_ms: Math.round(a.latencyMs), error: a.error,
      response_excerpt: a.responseExcerpt,
    }).execute();
    return true;
  }

  async get(id: string): Promise<Delivery | null> {
    const row = await this.db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDelivery(row) : null;
  }

  async list(webhookId: string, query: { status?: DeliveryStatus; beforeCreated?: Cursor; limit: number }): Promise<Delivery[]> {
    let q = this.db.selectFrom('deliveries').selectAll().where('webhook_id', '=', webhookId);
    if (query.status) q = q.where('status', '=', query.status);
    if (query.beforeCreated) {
      const { key, id } = query.beforeCreated;
      q = q.where(sql<boolean>`(created_at < ${key} or (created_at = ${key} and id < ${id}))`);
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map(toDelivery);
  }

  async attempts(deliveryIds: string[]): Promise<DeliveryAttempt[]> {
    if (deliveryIds.length === 0) return [];
    const rows = await this.db.selectFrom('delivery_attempts').selectAll().where('delivery_id', 'in', deliveryIds)
      .orderBy('delivery_id').orderBy('attempt').execute();
    return rows.map(toAttempt);
  }

  async requeue(webhookId: string, deliveryId: string | null, now: string): Promise<number> {
    const result = await this.db.updateTable('deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: now, lease_owner: null, lease_until: null })
      .where('webhook_id', '=', webhookId).where('status', '=', 'failed')
      .$if(deliveryId !== null, (q) => q.where('id', '=', deliveryId!))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

function toDelivery(row: DeliveriesTable): Delivery {
  return {
    id: row.id, webhookId: row.webhook_id, eventSeq: row.event_seq === null ? null : Number(row.event_seq), eventId: row.event_id,
    eventType: row.event_type, subject: row.subject, orderKey: row.order_key, payload: row.payload, status: row.status as DeliveryStatus,
    attempts: Number(row.attempts), nextAttemptAt: row.next_attempt_at, lastStatus: row.last_status === null ? null : Number(row.last_status),
    lastError: row.last_error, createdAt: row.created_at, deliveredAt: row.delivered_at,
  };
}

function toAttempt(row: DeliveryAttemptsTable): DeliveryAttempt {
  return {
    deliveryId: row.delivery_id, attempt: Number(row.attempt), at: row.at, status: row.status === null ? null : Number(row.status),
    latencyMs: Number(row.latency_ms), error: row.error, responseExcerpt: row.response_excerpt,
  };
}
