import { sql, type Kysely } from 'kysely';
import type { Cursor, InventoryFields, ModelPatch, ModelQuery, ModelRepository, NewModel } from '../../core/ports.js';
import type { Model, RiskTier, ValidationStatus } from '../../core/types.js';
import type { DbCapabilities } from '../connect.js';
import type { Database, ModelsTable } from '../schema.js';
import { fixedQuery, onlyRow } from './fixed-query.js';
import { fromJson, toJson } from './json.js';

// Every change to a model or its versions runs these: built and compiled once (fixed-query.ts).
const modelByName = fixedQuery((db, name: string) => db.selectFrom('models').selectAll().where('name', '=', name));
const formerNamesOf = fixedQuery((db, id: string) => db.selectFrom('model_former_names').select('name').where('model_id', '=', id).orderBy('name'));
const nextVersionNumber = fixedQuery((db, id: string) => db.updateTable('models')
  .set((eb) => ({ last_version: eb('last_version', '+', 1) })).where('id', '=', id).returning('last_version'));

export class KyselyModelRepository implements ModelRepository {
  constructor(private readonly db: Kysely<Database>, private readonly caps: DbCapabilities) {}

  async insert(model: NewModel): Promise<void> {
    await this.db.insertInto('models').values({
      id: model.id, name: model.name, description: model.description, tags: toJson(model.tags), owner: model.owner,
      intended_use: model.intendedUse, restrictions: model.restrictions, risk_tier: model.riskTier, archived: 0,
      created_by: model.createdBy, created_at: model.createdAt, updated_at: model.createdAt, last_version: 0,
      ...inventoryColumns(model.inventory),
    } as ModelsTable).execute();
    await this.writeTags(model.id, model.tags);
  }

  async findByName(name: string): Promise<Model | null> {
    let row = (await modelByName(this.db, name)).rows[0];
    if (!row) {
      row = await this.db.selectFrom('model_former_names as f').innerJoin('models as m', 'm.id', 'f.model_id')
        .selectAll('m').where('f.name', '=', name).executeTakeFirst();
    }
    return row ? this.withFormerNames(row) : null;
  }

  async findById(id: string): Promise<Model | null> {
    const row = await this.db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.withFormerNames(row) : null;
  }

  async nameUse(name: string): Promise<'current' | 'former' | null> {
    if (await this.db.selectFrom('models').select('id').where('name', '=', name).executeTakeFirst()) return 'current';
    if (await this.db.selectFrom('model_former_names').select('name').where('name', '=', name).executeTakeFirst()) return 'former';
    return null;
  }

  async lock(id: string): Promise<boolean> {
    if (!this.caps.rowLocks) return false;
    await this.db.selectFrom('models').select('id').where('id', '=', id).forUpdate().execute();
    return true;
  }

  async update(id: string, patch: ModelPatch, updatedAt: string): Promise<void> {
    await this.db.updateTable('models').set({
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.owner !== undefined && { owner: patch.owner }),
      ...(patch.intendedUse !== undefined && { intended_use: patch.intendedUse }),
      ...(patch.restrictions !== undefined && { restrictions: patch.restrictions }),
      ...(patch.riskTier !== undefined && { risk_tier: patch.riskTier }),
      ...(patch.archived !== undefined && { archived: patch.archived ? 1 : 0 }),
      ...(patch.tags !== undefined && { tags: toJson(patch.tags) }),
      ...inventoryColumns(patch),
      updated_at: updatedAt,
    }).where('id', '=', id).execute();
    if (patch.tags !== undefined) {
      await this.db.deleteFrom('model_tags').where('model_id', '=', id).execute();
      await this.writeTags(id, patch.tags);
    }
  }

  async rename(id: string, oldName: string, newName: string, updatedAt: string): Promise<void> {
    await this.db.deleteFrom('model_former_names').where('name', '=', newName).where('model_id', '=', id).execute();
    await this.db.updateTable('models').set({ name: newName, updated_at: updatedAt }).where('id', '=', id).execute();
    await this.db.insertInto('model_former_names').values({ name: oldName, model_id: id }).execute();
  }

  async list(query: ModelQuery): Promise<Model[]> {
    const column = query.sort === 'name' ? 'name' : query.sort;
    const dir = query.descending ? 'desc' : 'asc';
    let q = this.db.selectFrom('models').selectAll();
    if (!query.includeArchived) q = q.where('archived', '=', 0);
    if (query.riskTier) q = q.where('risk_tier', '=', query.riskTier);
    if (query.validationDueBefore) q = q.where('next_validation_due', '<', query.validationDueBefore);
    const stage = query.withStage ?? (query.inProduction ? 'production' : undefined);
    if (stage) {
      q = q.where(({ exists, selectFrom }) => exists(selectFrom('versions as pv').select('pv.id')
        .whereRef('pv.model_id', '=', 'models.id').where('pv.stage', '=', stage).where('pv.deleted_at', 'is', null)));
    }
    if (query.namePrefix) q = q.where(sql<boolean>`substr(name, 1, ${query.namePrefix.length}) = ${query.namePrefix}`);
    for (const tag of query.tags ?? []) {
      q = q.where(({ exists, selectFrom }) => exists(
        selectFrom('model_tags').select('model_tags.model_id').whereRef('model_tags.model_id', '=', 'models.id')
          .where('model_tags.key', '=', tag.key)
          .$if(tag.value !== undefined, (s) => s.where('model_tags.value', '=', tag.value!)),
      ));
    }
    if (query.after) q = q.where(keyset(column, query.descending, query.after));
    const rows = await q.orderBy(column, dir).orderBy('id', dir).limit(query.limit).execute();
    return this.withFormerNamesMany(rows);
  }

  async takeVersionNumber(id: string): Promise<number> {
    return Number(onlyRow(await nextVersionNumber(this.db, id)).last_version);
  }

  private async writeTags(modelId: string, tags: Record<string, string>): Promise<void> {
    const rows = Object.entries(tags).map(([key, value]) => ({ model_id: modelId, key, value }));
    for (let i = 0; i < rows.length; i += 500) await this.db.insertInto('model_tags').values(rows.slice(i, i + 500)).execute();
  }

  private async withFormerNames(row: ModelsTable): Promise<Model> {
    const { rows: former } = await formerNamesOf(this.db, row.id);
    return toModel(row, former.map((f) => f.name));
  }

  private async withFormerNamesMany(rows: ModelsTable[]): Promise<Model[]> {
    if (rows.length === 0) return [];
    const former = await this.db.selectFrom('model_former_names').select(['name', 'model_id'])
      .where('model_id', 'in', rows.map((r) => r.id)).orderBy('name').execute();
    return rows.map((row) => toModel(row, former.filter((f) => f.model_id === row.id).map((f) => f.name)));
  }
}

function keyset(column: 'name' | 'created_at' | 'updated_at', descending: boolean, after: Cursor) {
  const op = descending ? '<' : '>';
  return sql<boolean>`(${sql.ref(column)} ${sql.raw(op)} ${after.key} or (${sql.ref(column)} = ${after.key} and id ${sql.raw(op)} ${after.id}))`;
}

function inventoryColumns(f: Partial<InventoryFields>): Partial<ModelsTable> {
  return {
    ...(f.responsible !== undefined && { responsible: toJson(f.responsible) }),
    ...(f.validationStatus !== undefined && { validation_status: f.validationStatus }),
    ...(f.lastValidatedAt !== undefined && { last_validated_at: f.lastValidatedAt }),
    ...(f.nextValidationDue !== undefined && { next_validation_due: f.nextValidationDue }),
    ...(f.validityPeriod !== undefined && { validity_period: f.validityPeriod }),
    ...(f.policyExceptions !== undefined && { policy_exceptions: toJson(f.policyExceptions) }),
  };
}

export function toModel(row: ModelsTable, formerNames: string[]): Model {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    tags: fromJson(row.tags),
    owner: row.owner,
    intendedUse: row.intended_use,
    restrictions: row.restrictions,
    riskTier: row.risk_tier as RiskTier | null,
    archived: Number(row.archived) === 1,
    responsible: fromJson(row.responsible),
    validationStatus: row.validation_status as ValidationStatus,
    lastValidatedAt: row.last_validated_at,
    nextValidationDue: row.next_validation_due,
    validityPeriod: row.validity_period,
    policyExceptions: fromJson(row.policy_exceptions),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    formerNames,
  };
}
