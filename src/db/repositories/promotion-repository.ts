import { sql, type Kysely } from 'kysely';
import type { PromotionQuery, PromotionRepository } from '../../core/ports.js';
import type { Promotion, PromotionStatus, Stage } from '../../core/types.js';
import type { Database, PromotionsTable } from '../schema.js';
import { fromJson, toJson } from './json.js';

export class KyselyPromotionRepository implements PromotionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(p: Omit<Promotion, 'model'>): Promise<void> {
    await this.db.insertInto('promotions').values({
      id: p.id, model_id: p.modelId, version: p.version, target: p.target, reason: p.reason, status: p.status,
      requested_by: p.requestedBy, created_at: p.createdAt, decided_at: p.decidedAt,
      checks: toJson(p.checks), approvals: toJson(p.approvals), policy: toJson(p.policy), from_stage: p.fromStage,
      target_holder: p.targetHolder, decided_by: p.decidedBy, decision_comment: p.decisionComment,
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
    if (query.target) q = q.where('p.target', '=', query.target);
    if (query.afterCreated) {
      const { key, id } = query.afterCreated;
      q = q.where(sql<boolean>`(p.created_at < ${key} or (p.created_at = ${key} and p.id < ${id}))`);
    }
    const rows = await q.orderBy('p.created_at', 'desc').orderBy('p.id', 'desc').limit(query.limit).execute();
    return rows.map(toPromotion);
  }

  async pendingFor(modelId: string, version: number, target: string): Promise<Promotion[]> {
    const rows = await this.base().where('p.model_id', '=', modelId).where('p.version', '=', version)
      .where('p.target', '=', target).where('p.status', '=', 'pending').execute();
    return rows.map(toPromotion);
  }

  async update(id: string, patch: Pick<Promotion, 'status' | 'approvals' | 'decidedAt' | 'decidedBy' | 'decisionComment'>): Promise<void> {
    await this.db.updateTable('promotions').set({
      status: patch.status, approvals: toJson(patch.approvals), decided_at: patch.decidedAt,
      decided_by: patch.decidedBy, decision_comment: patch.decisionComment,
    }).where('id', '=', id).execute();
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
    policy: fromJson(row.policy), fromStage: row.from_stage as Stage,
    targetHolder: row.target_holder === null ? null : Number(row.target_holder),
    decidedBy: row.decided_by, decisionComment: row.decision_comment,
  };
}
