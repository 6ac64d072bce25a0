import { sql, type Kysely } from 'kysely';
import type { Cursor, HoldingRepository, PolicyRepository } from '../../core/ports.js';
import type { Holding } from '../../core/types.js';
import type { Database, HoldingsTable } from '../schema.js';
import { fromJson, toJson } from './json.js';

export class KyselyPolicyRepository implements PolicyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(scope: string) {
    const row = await this.db.selectFrom('policies').selectAll().where('scope', '=', scope).executeTakeFirst();
    return row ? { document: fromJson<unknown>(row.document), updatedAt: row.updated_at, updatedBy: row.updated_by } : null;
  }

  async put(scope: string, document: unknown, updatedBy: string, updatedAt: string): Promise<void> {
    const values = { document: toJson(document), updated_at: updatedAt, updated_by: updatedBy };
    await this.db.insertInto('policies').values({ scope, ...values })
      .onConflict((oc) => oc.column('scope').doUpdateSet(values)).execute();
  }
}

export class KyselyHoldingRepository implements HoldingRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async start(h: Holding): Promise<void> {
    await this.db.insertInto('holdings').values({
      id: h.id, model_id: h.modelId, target: h.target, version: h.version, started_at: h.startedAt, ended_at: h.endedAt,
      via: h.via, promotion_id: h.promotionId, actor: h.actor, reason: h.reason, approved_by: toJson(h.approvedBy),
    }).execute();
  }

  async end(modelId: string, target: string, version: number, endedAt: string): Promise<void> {
    await this.db.updateTable('holdings').set({ ended_at: endedAt })
      .where('model_id', '=', modelId).where('target', '=', target).where('version', '=', version).where('ended_at', 'is', null)
      .execute();
  }

  async forVersion(modelId: string, version: number): Promise<Holding[]> {
    const rows = await this.db.selectFrom('holdings').selectAll().where('model_id', '=', modelId).where('version', '=', version)
      .orderBy('started_at').orderBy('id').execute();
    return rows.map(toHolding);
  }

  async list(modelId: string, target: string, limit: number, before?: Cursor): Promise<Holding[]> {
    const rows = await this.db.selectFrom('holdings').selectAll()
      .where('model_id', '=', modelId).where('target', '=', target)
      .$if(before !== undefined, (q) => q.where(sql<boolean>`(started_at < ${before!.key} or (started_at = ${before!.key} and id < ${before!.id}))`))
      .orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toHolding);
  }
}

function toHolding(row: HoldingsTable): Holding {
  return {
    id: row.id, modelId: row.model_id, target: row.target, version: Number(row.version), startedAt: row.started_at,
    endedAt: row.ended_at, via: row.via as Holding['via'], promotionId: row.promotion_id, actor: row.actor,
    reason: row.reason, approvedBy: fromJson(row.approved_by),
  };
}
