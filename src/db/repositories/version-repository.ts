import { sql, type Kysely } from 'kysely';
import type { NewVersion, VersionPatch, VersionQuery, VersionRepository } from '../../core/ports.js';
import type { Stage, Version, VersionStatus } from '../../core/types.js';
import type { Database, VersionsTable } from '../schema.js';
import { fixedQuery, insertRows } from './fixed-query.js';
import { fromJson, toJson } from './json.js';

export type VersionRow = VersionsTable & { model_name: string };

/**
 * Every column of `versions`, named rather than `v.*`: a statement with a fixed result shape
 * can stay prepared on PostgreSQL while another server adds a column (postgres-statement-names.ts).
 */
const VERSION_COLUMNS = [
  'id', 'model_id', 'version', 'digest', 'status', 'stage', 'files', 'source_uri', 'metrics', 'params', 'tags', 'description',
  'model_card', 'signature', 'lineage', 'created_by', 'created_at', 'updated_at', 'left_development_at', 'deleted_at', 'degraded_at',
] as const satisfies ReadonlyArray<keyof VersionsTable>;
// A column added to VersionsTable and not listed above fails to compile here.
const listsEveryColumn: Exclude<keyof VersionsTable, (typeof VERSION_COLUMNS)[number]> extends never ? true : never = true;
void listsEveryColumn;

/** Versions a metric condition may name outright (see `list`). */
const FEW = 200;
/** Id lists are padded to these lengths, so a prepared statement serves many searches. */
const ID_LIST_SIZES = [10, 50, FEW];

function padded(ids: string[]): string[] {
  const size = ID_LIST_SIZES.find((n) => n >= ids.length) ?? ids.length;
  return ids.length === size ? ids : [...ids, ...new Array<string>(size - ids.length).fill(ids[0]!)];
}

function comparison(m: { op: string }): string {
  return m.op === '==' ? '=' : m.op === '!=' ? '<>' : m.op;
}

/** String.prototype.isWellFormed (Node 20; TypeScript types it from ES2024). */
const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * Versions with their model's name, looked up per row rather than joined: given the join,
 * SQLite starts from `models` when it is the smaller table (a registry of a few models with
 * many versions each), and then sorts every version of a model before returning a page.
 */
function versionsWithModel(db: Kysely<Database>) {
  return db.selectFrom('versions as v').select(VERSION_COLUMNS.map((c) => `v.${c}` as const))
    .select((eb) => eb.selectFrom('models as m').select('m.name').whereRef('m.id', '=', 'v.model_id').as('model_name'))
    .$narrowType<{ model_name: string }>();
}

// Every change to a version reads it back with these: built and compiled once (fixed-query.ts).
const anyVersion = fixedQuery((db, modelId: string, version: number) => versionsWithModel(db)
  .where('v.model_id', '=', modelId).where('v.version', '=', version));
const liveVersion = fixedQuery((db, modelId: string, version: number) => versionsWithModel(db)
  .where('v.model_id', '=', modelId).where('v.version', '=', version).where('v.deleted_at', 'is', null));
const aliasesOf = fixedQuery((db, modelId: string, version: number) => db.selectFrom('aliases').select('alias')
  .where('model_id', '=', modelId).where('version', '=', version).orderBy('alias'));

export class KyselyVersionRepository implements VersionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(v: NewVersion): Promise<Version> {
    const row: VersionsTable = {
      id: v.id, model_id: v.modelId, version: v.version, digest: v.digest, status: v.status, stage: v.stage,
      files: toJson(v.files), source_uri: v.sourceUri, metrics: toJson(v.metrics), params: toJson(v.params),
      tags: toJson(v.tags), description: v.description, model_card: v.modelCard,
      signature: v.signature === null || v.signature === undefined ? null : toJson(v.signature),
      lineage: toJson(v.lineage), created_by: v.createdBy, created_at: v.createdAt, updated_at: v.createdAt,
      left_development_at: null, deleted_at: null, degraded_at: null,
    };
    await insertRows(this.db, 'versions', [row]);
    await insertRows(this.db, 'version_metrics', Object.entries(v.metrics).map(([name, value]) => ({ version_id: v.id, model_id: v.modelId, name, value })));
    await this.writeTags(v.id, v.modelId, v.tags);
    await insertRows(this.db, 'version_files', v.files.map((f) => ({ version_id: v.id, path: f.path, digest: f.digest, size: f.size })));
    // A lone surrogate cannot be stored as it is (the drivers write UTF-8): such a version
    // comes back changed, so read it back. Any other is converted from the row as written,
    // exactly as a read of it would be.
    if (Object.values(row).some((value) => typeof value === 'string' && !isWellFormed(value))) return (await this.get(v.modelId, v.version))!;
    return toVersion({ ...row, model_name: v.model }, []);
  }

  async get(modelId: string, version: number, includeDeleted = false): Promise<Version | null> {
    const row = (await (includeDeleted ? anyVersion : liveVersion)(this.db, modelId, version)).rows[0];
    if (!row) return null;
    const { rows: aliases } = await aliasesOf(this.db, modelId, version);
    return toVersion(row, aliases.map((a) => a.alias));
  }

  async list(modelId: string, query: VersionQuery): Promise<Version[]> {
    let q = this.base().where('v.model_id', '=', modelId).where('v.deleted_at', 'is', null);
    if (query.stage) q = q.where('v.stage', '=', query.stage);
    if (query.createdAfter) q = q.where('v.created_at', '>', query.createdAfter);
    const metrics = query.metrics ?? [];
    // Walking the model's versions newest first and probing each one's metric stops early
    // when many match, and reads every version when few do; the planner cannot tell the two
    // apart from a generic plan. So ask the metric index first: a condition that a few
    // versions meet names them outright.
    const few = await this.fewMeeting(modelId, metrics);
    if (few) {
      if (few.ids.length === 0) return [];
      q = q.where('v.id', 'in', padded(few.ids));
    }
    for (const m of metrics) {
      if (m === few?.condition) continue;
      q = q.where(({ exists, selectFrom }) => exists(
        selectFrom('version_metrics as vm').select('vm.version_id')
          .whereRef('vm.version_id', '=', 'v.id').where('vm.name', '=', m.name)
          .where(sql<boolean>`vm.value ${sql.raw(comparison(m))} ${m.value}`),
      ));
    }
    for (const tag of query.tags ?? []) {
      q = q.where(({ exists, selectFrom }) => exists(
        selectFrom('version_tags as vt').select('vt.version_id').whereRef('vt.version_id', '=', 'v.id')
          .where('vt.key', '=', tag.key)
          .$if(tag.value !== undefined, (s) => s.where('vt.value', '=', tag.value!)),
      ));
    }
    if (query.afterVersion !== undefined) q = q.where('v.version', query.ascending ? '>' : '<', query.afterVersion);
    const rows = await q.orderBy('v.version', query.ascending ? 'asc' : 'desc').limit(query.limit).execute();
    if (rows.length === 0) return [];
    const aliases = await this.db.selectFrom('aliases').select(['alias', 'version'])
      .where('model_id', '=', modelId).where('version', 'in', rows.map((r) => r.version)).orderBy('alias').execute();
    return rows.map((row) => toVersion(row, aliases.filter((a) => a.version === row.version).map((a) => a.alias)));
  }

  /** The first condition that at most FEW versions of the model meet, with their ids. */
  private async fewMeeting(modelId: string, metrics: NonNullable<VersionQuery['metrics']>) {
    for (const condition of metrics) {
      const rows = await this.db.selectFrom('version_metrics').select('version_id')
        .where('model_id', '=', modelId).where('name', '=', condition.name)
        .where(sql<boolean>`value ${sql.raw(comparison(condition))} ${condition.value}`)
        .limit(FEW + 1).execute();
      if (rows.length <= FEW) return { condition, ids: rows.map((r) => r.version_id) };
    }
    return null;
  }

  async inStage(modelId: string, stage: Stage): Promise<Version[]> {
    const rows = await this.base().where('v.model_id', '=', modelId).where('v.stage', '=', stage)
      .where('v.deleted_at', 'is', null).orderBy('v.version', 'desc').execute();
    const result: Version[] = [];
    for (const row of rows) {
      const aliases = await this.db.selectFrom('aliases').select('alias')
        .where('model_id', '=', modelId).where('version', '=', row.version).orderBy('alias').execute();
      result.push(toVersion(row, aliases.map((a) => a.alias)));
    }
    return result;
  }

  async newestInStage(modelId: string, stage: Stage): Promise<Version | null> {
    const row = await this.base().where('v.model_id', '=', modelId).where('v.stage', '=', stage)
      .where('v.deleted_at', 'is', null).orderBy('v.version', 'desc').limit(1).executeTakeFirst();
    if (!row) return null;
    const aliases = await this.db.selectFrom('aliases').select('alias')
      .where('model_id', '=', modelId).where('version', '=', row.version).orderBy('alias').execute();
    return toVersion(row, aliases.map((a) => a.alias));
  }

  async update(id: string, patch: VersionPatch, updatedAt: string): Promise<void> {
    await this.db.updateTable('versions').set({
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.modelCard !== undefined && { model_card: patch.modelCard }),
      ...(patch.tags !== undefined && { tags: toJson(patch.tags) }),
      updated_at: updatedAt,
    }).where('id', '=', id).execute();
    if (patch.tags !== undefined) {
      const row = await this.db.selectFrom('versions').select('model_id').where('id', '=', id).executeTakeFirstOrThrow();
      await this.db.deleteFrom('version_tags').where('version_id', '=', id).execute();
      await this.writeTags(id, row.model_id, patch.tags);
    }
  }

  async setStage(id: string, stage: Stage, updatedAt: string): Promise<void> {
    await this.db.updateTable('versions')
      .set((eb) => ({
        stage,
        updated_at: updatedAt,
        left_development_at: stage === 'development' ? eb.ref('left_development_at') : eb.fn.coalesce('left_development_at', eb.val(updatedAt)),
      }))
      .where('id', '=', id).execute();
  }

  async setDegraded(id: string, at: string | null): Promise<void> {
    await this.db.updateTable('versions').set({ degraded_at: at }).where('id', '=', id).execute();
  }

  async markReleased(id: string, at: string): Promise<void> {
    await this.db.updateTable('versions').set({ left_development_at: at }).where('id', '=', id).where('left_development_at', 'is', null).execute();
  }

  async markDeleted(id: string, deletedAt: string): Promise<void> {
    await this.db.updateTable('versions').set({ deleted_at: deletedAt, updated_at: deletedAt }).where('id', '=', id).execute();
  }

  async byIds(ids: string[]): Promise<Version[]> {
    if (ids.length === 0) return [];
    const out: Version[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.base().where('v.id', 'in', ids.slice(i, i + 500)).execute();
      const aliases = rows.length === 0 ? [] : await this.db.selectFrom('aliases').select(['model_id', 'alias', 'version'])
        .where('model_id', 'in', [...new Set(rows.map((r) => r.model_id))]).execute();
      for (const row of rows) {
        out.push(toVersion(row, aliases.filter((a) => a.model_id === row.model_id && Number(a.version) === Number(row.version)).map((a) => a.alias).sort()));
      }
    }
    return out;
  }

  private base() {
    return versionsWithModel(this.db);
  }

  private async writeTags(versionId: string, modelId: string, tags: Record<string, string>): Promise<void> {
    await insertRows(this.db, 'version_tags', Object.entries(tags).map(([key, value]) => ({ version_id: versionId, model_id: modelId, key, value })));
  }
}

export function toVersion(row: VersionRow, aliases: string[]): Version {
  return {
    id: row.id,
    modelId: row.model_id,
    model: row.model_name,
    version: Number(row.version),
    digest: row.digest,
    status: row.status as VersionStatus,
    stage: row.stage as Stage,
    aliases,
    files: fromJson(row.files),
    sourceUri: row.source_uri,
    metrics: fromJson(row.metrics),
    params: fromJson(row.params),
    tags: fromJson(row.tags),
    description: row.description,
    modelCard: row.model_card,
    signature: fromJson(row.signature),
    lineage: fromJson(row.lineage),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    leftDevelopmentAt: row.left_development_at,
    deletedAt: row.deleted_at,
    degradedAt: row.degraded_at,
  };
}
