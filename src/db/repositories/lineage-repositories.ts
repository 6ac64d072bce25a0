import { sql, type Kysely } from 'kysely';
import type { DatasetQuery, DatasetRepository, ImpactSeed, ImpactedVersion, LineageRepository } from '../../core/ports.js';
import type { Dataset, Stage } from '../../core/types.js';
import type { Database, DatasetsTable } from '../schema.js';
import { fromJson, toJson } from './json.js';

export class KyselyDatasetRepository implements DatasetRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(d: Dataset): Promise<void> {
    await this.db.insertInto('datasets').values({
      id: d.id, name: d.name, version: d.version, uri: d.uri, digest: d.digest, size: d.size, description: d.description,
      schema: d.schema === null || d.schema === undefined ? null : toJson(d.schema), tags: toJson(d.tags),
      created_by: d.createdBy, created_at: d.createdAt,
    }).execute();
  }

  async insertIfAbsent(d: Dataset): Promise<{ dataset: Dataset; created: boolean }> {
    const result = await this.db.insertInto('datasets').values({
      id: d.id, name: d.name, version: d.version, uri: d.uri, digest: d.digest, size: d.size, description: d.description,
      schema: d.schema === null || d.schema === undefined ? null : toJson(d.schema), tags: toJson(d.tags),
      created_by: d.createdBy, created_at: d.createdAt,
    }).onConflict((oc) => oc.columns(['name', 'version']).doNothing()).executeTakeFirst();
    const created = Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    return { dataset: (await this.find(d.name, d.version))!, created };
  }

  async find(name: string, version: string): Promise<Dataset | null> {
    const row = await this.db.selectFrom('datasets').selectAll().where('name', '=', name).where('version', '=', version).executeTakeFirst();
    return row ? toDataset(row) : null;
  }

  async byName(name: string): Promise<Dataset[]> {
    const rows = await this.db.selectFrom('datasets').selectAll().where('name', '=', name).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map(toDataset);
  }

  async list(query: DatasetQuery): Promise<Dataset[]> {
    let q = this.db.selectFrom('datasets').selectAll();
    if (query.name) q = q.where('name', '=', query.name);
    if (query.namePrefix) q = q.where(sql<boolean>`substr(name, 1, ${query.namePrefix.length}) = ${query.namePrefix}`);
    if (query.after) {
      const { key, id } = query.after;
      q = q.where(sql<boolean>`(name > ${key} or (name = ${key} and id > ${id}))`);
    }
    return (await q.orderBy('name').orderBy('id').limit(query.limit).execute()).map(toDataset);
  }
}

function toDataset(row: DatasetsTable): Dataset {
  return {
    id: row.id, name: row.name, version: row.version, uri: row.uri, digest: row.digest, size: row.size === null ? null : Number(row.size),
    description: row.description, schema: fromJson(row.schema), tags: fromJson(row.tags), createdBy: row.created_by, createdAt: row.created_at,
  };
}

export class KyselyLineageRepository implements LineageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async link(versionId: string, edges: { datasets: { datasetId: string; role: string }[]; parents: { parentId: string; relation: string }[]; code: { repo: string; commit: string } | null }): Promise<void> {
    const datasets = [...new Map(edges.datasets.map((d) => [`${d.datasetId}/${d.role}`, d])).values()];
    if (datasets.length > 0) {
      await this.db.insertInto('version_datasets').values(datasets.map((d) => ({ version_id: versionId, dataset_id: d.datasetId, role: d.role }))).execute();
    }
    const parents = [...new Map(edges.parents.map((p) => [p.parentId, p])).values()];
    if (parents.length > 0) {
      await this.db.insertInto('version_parents').values(parents.map((p) => ({ version_id: versionId, parent_id: p.parentId, relation: p.relation }))).execute();
    }
    if (edges.code) await this.db.insertInto('version_code').values({ version_id: versionId, repo: edges.code.repo, commit: edges.code.commit }).execute();
  }

  async datasetsOf(versionIds: string[]) {
    if (versionIds.length === 0) return [];
    const rows = await this.db.selectFrom('version_datasets as vd').innerJoin('datasets as d', 'd.id', 'vd.dataset_id')
      .selectAll('d').select(['vd.version_id', 'vd.role']).where('vd.version_id', 'in', versionIds).orderBy('d.name').execute();
    return rows.map((r) => ({ versionId: r.version_id, role: r.role, dataset: toDataset(r) }));
  }

  async parentsOf(versionIds: string[]) {
    if (versionIds.length === 0) return [];
    const rows = await this.db.selectFrom('version_parents').selectAll().where('version_id', 'in', versionIds).execute();
    return rows.map((r) => ({ versionId: r.version_id, parentId: r.parent_id, relation: r.relation }));
  }

  async impacted(seed: ImpactSeed, limit: number): Promise<ImpactedVersion[]> {
    let start;
    if ('datasetIds' in seed) {
      if (seed.datasetIds.length === 0) return [];
      start = sql`select version_id, 1 as direct from version_datasets where dataset_id in (${sql.join(seed.datasetIds)})`;
    } else if ('commit' in seed) {
      start = sql`select version_id, 1 as direct from version_code where ${sql.ref('commit')} = ${seed.commit}`;
    } else {
      start = sql`select version_id, 1 as direct from version_parents where parent_id = ${seed.parentVersionId}`;
    }
    // Descendants inherit what their parents were built from: follow parent edges down, to any depth.
    // CROSS JOIN makes SQLite start from the affected set (its size is unknown to the planner,
    // which otherwise scanned every model's versions: 330 ms for 10,000 of 100,000); PostgreSQL
    // reorders it freely.
    // The model names come afterwards, once per model: joining models for each of 10,000 rows
    // took a quarter of the query.
    const result = await sql<{ id: string; model_id: string; version: number | string; stage: string; direct: number | string }>`
      with recursive affected(version_id, direct) as (
        ${start}
        union
        select p.version_id, 0 from version_parents p join affected a on p.parent_id = a.version_id
      )
      , best(version_id, direct) as (select version_id, max(direct) from affected group by version_id)
      select v.id, v.model_id, v.version, v.stage, b.direct
      from best b cross join versions v
      where v.id = b.version_id and v.deleted_at is null
      limit ${limit}
    `.execute(this.db);
    const names = new Map<string, string>();
    const modelIds = [...new Set(result.rows.map((r) => r.model_id))];
    for (let i = 0; i < modelIds.length; i += 500) {
      const models = await this.db.selectFrom('models').select(['id', 'name']).where('id', 'in', modelIds.slice(i, i + 500)).execute();
      for (const m of models) names.set(m.id, m.name);
    }
    // A model gone between the two queries takes its versions with it.
    return result.rows.filter((r) => names.has(r.model_id)).map((r) => ({
      versionId: r.id, modelId: r.model_id, model: names.get(r.model_id)!, version: Number(r.version), stage: r.stage as Stage, direct: Number(r.direct) === 1,
    }));
  }
}
