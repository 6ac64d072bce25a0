import { sql, type Kysely } from 'kysely';
import type { TrackingRepository } from '../../core/ports.js';
import type { Artifact, Experiment, Run } from '../../core/types.js';
import type { DbCapabilities } from '../connect.js';
import type { Database, ExperimentsTable, RunsTable } from '../schema.js';
import { fromJson, likePrefix, toJson } from './json.js';

export class KyselyTrackingRepository implements TrackingRepository {
  constructor(private readonly db: Kysely<Database>, private readonly caps: DbCapabilities) {}

  async insertExperiment(e: Experiment): Promise<void> {
    await this.db.insertInto('experiments').values({
      id: e.id, name: e.name, artifact_location: e.artifactLocation, tags: toJson(e.tags), created_by: e.createdBy, created_at: e.createdAt,
    }).execute();
  }

  async experiment(id: string): Promise<Experiment | null> {
    const row = await this.db.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toExperiment(row) : null;
  }

  async experimentByName(name: string): Promise<Experiment | null> {
    const row = await this.db.selectFrom('experiments').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toExperiment(row) : null;
  }

  async insertRun(r: Run): Promise<void> {
    await this.db.insertInto('runs').values(runRow(r)).execute();
  }

  async run(id: string): Promise<Run | null> {
    const row = await this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRun(row) : null;
  }

  async lockRun(id: string): Promise<void> {
    if (this.caps.rowLocks) await this.db.selectFrom('runs').select('id').where('id', '=', id).forUpdate().execute();
  }

  async updateRun(r: Run): Promise<void> {
    const { id: _id, ...rest } = runRow(r);
    await this.db.updateTable('runs').set(rest).where('id', '=', r.id).execute();
  }

  async putArtifact(a: Artifact, by: string, at: string): Promise<void> {
    const values = { digest: a.digest, size: a.size, uploaded_by: by, uploaded_at: at };
    await this.db.insertInto('artifacts').values({ path: a.path, ...values }).onConflict((oc) => oc.column('path').doUpdateSet(values)).execute();
  }

  async artifact(path: string): Promise<Artifact | null> {
    const row = await this.db.selectFrom('artifacts').select(['path', 'digest', 'size']).where('path', '=', path).executeTakeFirst();
    return row ? { path: row.path, digest: row.digest, size: Number(row.size) } : null;
  }

  async artifactsUnder(prefix: string, limit: number): Promise<Artifact[]> {
    const rows = await this.db.selectFrom('artifacts').select(['path', 'digest', 'size'])
      .where(sql<boolean>`path like ${likePrefix(prefix)} escape '\\'`).orderBy('path').limit(limit).execute();
    return rows.map((r) => ({ path: r.path, digest: r.digest, size: Number(r.size) }));
  }
}

function runRow(r: Run): RunsTable {
  return {
    id: r.id, experiment_id: r.experimentId, name: r.name, user_id: r.userId, status: r.status, start_time: r.startTime, end_time: r.endTime,
    artifact_uri: r.artifactUri, tags: toJson(r.tags), params: toJson(r.params), metrics: toJson(r.metrics),
  };
}

function toRun(row: RunsTable): Run {
  return {
    id: row.id, experimentId: row.experiment_id, name: row.name, userId: row.user_id, status: row.status as Run['status'],
    startTime: Number(row.start_time), endTime: row.end_time === null ? null : Number(row.end_time), artifactUri: row.artifact_uri,
    tags: fromJson(row.tags), params: fromJson(row.params), metrics: fromJson(row.metrics),
  };
}

function toExperiment(row: ExperimentsTable): Experiment {
  return { id: row.id, name: row.name, artifactLocation: row.artifact_location, tags: fromJson(row.tags), createdBy: row.created_by, createdAt: row.created_at };
}
