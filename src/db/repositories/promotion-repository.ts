import { sql, type Kysely } from 'kysely';
import type { PromotionQuery, PromotionRepository } from '../../core/ports.js';
import type { Promotion, PromotionStatus } from '../../core/types.js';
import type { Database, PromotionsTable } from '../schema.js';
import { fromJson, toJson } from './json.js';

export class KyselyPromotionRepository implements PromotionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(p: Omit<Promotion, 'model'>): Promise<void> {
    await this.db.insertInto('promotions').values({
      id: p.id, model_id: p.modelId, version: p.version, target: p.target, reason: p.reason, status: p.status,
      requested_by: p.requestedBy, created_at: p.createdAt, decided_at: p.decidedAt,
      checks: toJson(p.checks), approvals: toJson(p.approvals),
    }).execute();
  }

  async get(id: string): Promise<Promotion | null> {
    const row = await this.base().where('p.id', '=', id).executeTakeFirst();
    return row ? toPromotion(row) : null;
  }

  async list(query: PromotionQuery): Promise<Promotion[]> {
    let q = this.base();
    if (query.status) q = q.where('p.status', '=', query.status);
    if (query.modelId) q = q.where('p.model_id', '=', query.modelId);
    if (query.afterCreated) {
      const { key, id } = query.afterCreated;
      q = q.where(sql<boolean>`(p.created_at < ${key} or (p.created_at = ${key} and p.id < ${id}))`);
    }
    const rows = await q.orderBy('p.created_at', 'desc').orderBy('p.id', 'desc').limit(query.limit).execute();
    return rows.map(toPromotion);
  }

  private base() {
    return this.db.selectFrom('promotions as p').innerJoin('models as m', 'm.id', 'p.model_id').selectAll('p').select('m.name as model_name');
  }
}

function toPromotion(row: PromotionsTable & { model_name: string }): Promotion {
  return {
    id: row.id, modelId: row.model_id, model: row.model_name, version: Number(row.version), target: row.target,
    reason: row.reason, status: row.status as PromotionStatus, requestedBy: row.requested_by, createdAt: row.created_at,
    decidedAt: row.decided_at, checks: fromJson(row.checks), approvals: fromJson(row.approvals),
  };
}
