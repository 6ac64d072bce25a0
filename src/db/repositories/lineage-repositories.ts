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
    // lineage_sources, the closure, is kept by triggers on these three tables (migration 08).
  }

  async datasetsOf(versionIds: string[]) {
    const out = [];
    for (const ids of chunks(versionIds)) {
      const rows = await this.db.selectFrom('version_datasets as vd').innerJoin('datasets as d', 'd.id', 'vd.dataset_id')
        .selectAll('d').select(['vd.version_id', 'vd.role']).where('vd.version_id', 'in', ids).orderBy('d.name').execute();
      for (const r of rows) out.push({ versionId: r.version_id, role: r.role, dataset: toDataset(r) });
    }
    return out;
  }

  async parentsOf(versionIds: string[]) {
    const out = [];
    for (const ids of chunks(versionIds)) {
      const rows = await this.db.selectFrom('version_parents').selectAll().where('version_id', 'in', ids).execute();
      for (const r of rows) out.push({ versionId: r.version_id, parentId: r.parent_id, relation: r.relation });
    }
    return out;
  }

  async ancestors(versionId: string, depth: number): Promise<{ versionId: string; depth: number }[]> {
    // One statement whatever the depth: a walk of one query per generation cost round trips
    // on PostgreSQL. A version reached by several paths is listed at its shortest (`union`
    // keeps one row per version and depth, so at most 51 of each, the depth being at most 50).
    const result = await sql<{ version_id: string; depth: number | string }>`
      with recursive up(version_id, depth) as (
        select id, 0 from versions where id = ${versionId}
        union
        select p.parent_id, u.depth + 1 from up u join version_parents p on p.version_id = u.version_id
        where u.depth < ${depth}
      )
      select version_id, min(depth) as depth from up group by version_id
    `.execute(this.db);
    return result.rows.map((r) => ({ versionId: r.version_id, depth: Number(r.depth) }));
  }

  async impacted(seed: ImpactSeed, limit: number): Promise<ImpactedVersion[]> {
    if ('parentVersionId' in seed) return this.descendants(seed.parentVersionId, limit);
    const [kind, refs] = 'datasetIds' in seed ? ['dataset', seed.datasetIds] : ['commit', [seed.commit]];
    if (refs.length === 0) return [];
    // One statement, so one snapshot: the versions the sources reached (one index range), then,
    // for the models among them, the few versions out of development (the partial index
    // versions_released, whose condition the query states word for word, so both databases use
    // it whatever they guess) or deleted. Every other reached version is in development and
    // needs no read of its own. Reached versions come one row per model, their numbers joined
    // in a string (negative when only inherited): 10,000 rows turned into objects cost five
    // times the query itself. Planned for its values each time (the opening comment:
    // postgres-statement-names.ts): PostgreSQL's generic plan scanned lineage_sources whole.
    const result = await sql<{ k: number | string; model_id: string; versions: string; stage: string }>`
      /* planned per call */
      with reached as (
        select model_id, string_agg(cast(case when direct = 1 then version else -version end as varchar(12)), ',') as versions
        from (
          select model_id, version, direct from lineage_sources
          where source_kind = ${kind} and source_ref in (${sql.join(refs)})
          limit ${limit}
        ) hit
        group by model_id
      )
      select 0 as k, model_id, versions, '' as stage from reached
      union all
      select 1, v.model_id, cast(v.version as varchar(12)), v.stage from reached t cross join versions v
      where v.model_id = t.model_id and v.stage <> 'development'
      union all
      select 2, v.model_id, cast(v.version as varchar(12)), '' from reached t cross join versions v
      where v.model_id = t.model_id and v.deleted_at is not null
    `.execute(this.db);
    // Per model, its reached versions (negative: inherited only), and the exceptions to "in
    // development": flat arrays and one small map, not an object per version.
    const reached = new Map<string, number[]>();
    const stages = new Map<string, Map<number, Stage | null>>();
    for (const r of result.rows) {
      const k = Number(r.k);
      if (k === 0) {
        const list = reached.get(r.model_id);
        const numbers = r.versions.split(',').map(Number);
        if (list) list.push(...numbers);
        else reached.set(r.model_id, numbers);
        continue;
      }
      let ofModel = stages.get(r.model_id);
      if (!ofModel) stages.set(r.model_id, ofModel = new Map());
      // A deleted version is left out whatever its stage (null), whichever row came first.
      if (k === 2 || !ofModel.has(Number(r.versions))) ofModel.set(Number(r.versions), k === 2 ? null : r.stage as Stage);
    }
    const names = await this.modelNames([...reached.keys()]);
    const out: ImpactedVersion[] = [];
    for (const [modelId, signed] of reached) {
      const model = names.get(modelId);
      // A model gone between the two queries takes its versions with it.
      if (model === undefined) continue;
      const exceptions = stages.get(modelId);
      // A dataset asked by name reaches a version once per dataset version: direct if any is.
      if (signed.length > 1) signed.sort((a, b) => Math.abs(a) - Math.abs(b) || b - a);
      for (let i = 0; i < signed.length; i++) {
        const version = Math.abs(signed[i]!);
        if (i > 0 && Math.abs(signed[i - 1]!) === version) continue;
        const stage = exceptions?.get(version);
        if (stage === null) continue;
        out.push({ modelId, model, version, stage: stage ?? 'development', direct: signed[i]! > 0 });
      }
    }
    return out;
  }

  /** Versions built on a parent version, at any depth: parent edges followed down. */
  private async descendants(parentId: string, limit: number): Promise<ImpactedVersion[]> {
    // CROSS JOIN makes SQLite start from the affected set (its size is unknown to the planner,
    // which otherwise scanned every model's versions); PostgreSQL reorders it freely.
    const result = await sql<{ model_id: string; version: number | string; stage: string; direct: number | string }>`
      with recursive affected(version_id) as (
        select version_id from version_parents where parent_id = ${parentId}
        union
        select p.version_id from version_parents p join affected a on p.parent_id = a.version_id
      )
      select v.model_id, v.version, v.stage, v.id in (select version_id from version_parents where parent_id = ${parentId}) as direct
      from affected b cross join versions v
      where v.id = b.version_id and v.deleted_at is null
      limit ${limit}
    `.execute(this.db);
    const names = await this.modelNames([...new Set(result.rows.map((r) => r.model_id))]);
    // A model gone between the two queries takes its versions with it.
    return result.rows.filter((r) => names.has(r.model_id)).map((r) => ({
      modelId: r.model_id, model: names.get(r.model_id)!, version: Number(r.version), stage: r.stage as Stage, direct: Number(r.direct) === 1,
    }));
  }

  /** Names by model id, fetched once per model (10,000 versions come from a few hundred models). */
  private async modelNames(modelIds: string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const ids of chunks(modelIds)) {
      const models = await this.db.selectFrom('models').select(['id', 'name']).where('id', 'in', ids).execute();
      for (const m of models) names.set(m.id, m.name);
    }
    return names;
  }
}

/** Ids in lists short enough for one `in (...)` each. */
function chunks(ids: string[], size = 500): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}
