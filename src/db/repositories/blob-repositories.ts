import { type Kysely, sql } from 'kysely';
import type { BlobRecord, BlobRecordRepository, UploadPart, UploadRepository, UploadSession, UploadStatus } from '../../core/ports.js';
import type { BlobsTable, Database, UploadPartsTable, UploadSessionsTable } from '../schema.js';

const BATCH = 500;

/** Digests that a live version file or a run artifact points to: never collected. */
const notReferenced = sql<boolean>`NOT (EXISTS (SELECT 1 FROM version_files f JOIN versions v ON v.id = f.version_id WHERE f.digest = blobs.digest AND v.deleted_at IS NULL)
    OR EXISTS (SELECT 1 FROM artifacts a WHERE a.digest = blobs.digest))`;

export class KyselyBlobRecordRepository implements BlobRecordRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(digest: string, size: number, at: string): Promise<boolean> {
    const row = await this.db.insertInto('blobs')
      .values({ digest, size, state: 'present', ref_gen: 0, created_at: at, touched_at: at })
      .onConflict((oc) => oc.column('digest')
        .doUpdateSet({ ref_gen: sql`blobs.ref_gen + 1`, touched_at: at })
        .where('blobs.state', '=', 'present'))
      .returning('digest')
      .executeTakeFirst();
    return row !== undefined;
  }

  async reference(digests: string[], at: string): Promise<string[]> {
    const unique = [...new Set(digests)];
    const found = new Set<string>();
    for (let i = 0; i < unique.length; i += BATCH) {
      const rows = await this.db.updateTable('blobs')
        .set({ ref_gen: sql`ref_gen + 1`, touched_at: at })
        .where('digest', 'in', unique.slice(i, i + BATCH))
        .where('state', '=', 'present')
        .returning('digest')
        .execute();
      for (const row of rows) found.add(row.digest);
    }
    return unique.filter((d) => !found.has(d));
  }

  async get(digest: string): Promise<BlobRecord | null> {
    const row = await this.db.selectFrom('blobs').selectAll().where('digest', '=', digest).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async committedBytes(): Promise<number> {
    const blobs = await this.db.selectFrom('blobs').select(sql<string | number>`COALESCE(SUM(size), 0)`.as('total')).where('state', '=', 'present').executeTakeFirstOrThrow();
    const sessions = await this.db.selectFrom('upload_sessions').select(sql<string | number>`COALESCE(SUM(size), 0)`.as('total')).where('status', '=', 'open').executeTakeFirstOrThrow();
    return Number(blobs.total) + Number(sessions.total);
  }

  async unreferenced(before: string, limit: number): Promise<BlobRecord[]> {
    const rows = await this.db.selectFrom('blobs').selectAll()
      .where('state', '=', 'present')
      .where('touched_at', '<', before)
      .where(notReferenced)
      .orderBy('touched_at')
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  async adoptForDeletion(digest: string, size: number, at: string): Promise<boolean> {
    const row = await this.db.insertInto('blobs')
      .values({ digest, size, state: 'deleting', ref_gen: 0, created_at: at, touched_at: at })
      .onConflict((oc) => oc.column('digest').doNothing())
      .returning('digest')
      .executeTakeFirst();
    return row !== undefined;
  }

  async takeLease(name: string, holder: string, now: string, until: string): Promise<boolean> {
    const row = await this.db.insertInto('maintenance_leases')
      .values({ name, holder, expires_at: until })
      .onConflict((oc) => oc.column('name')
        .doUpdateSet({ holder, expires_at: until })
        .where((eb) => eb.or([eb('maintenance_leases.expires_at', '<', now), eb('maintenance_leases.holder', '=', holder)])))
      .returning('name')
      .executeTakeFirst();
    return row !== undefined;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('maintenance_leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  async markDeleting(digest: string, refGen: number, before: string): Promise<boolean> {
    // The generation check is what makes this safe on PostgreSQL: a version being created
    // bumps it inside its transaction, and this update waits for that row lock and then
    // sees the new generation.
    const rows = await this.db.updateTable('blobs').set({ state: 'deleting' })
      .where('digest', '=', digest)
      .where('ref_gen', '=', refGen)
      .where('touched_at', '<', before)
      .where('state', '=', 'present')
      .where(notReferenced)
      .returning('digest')
      .execute();
    return rows.length > 0;
  }

  async deleting(limit: number): Promise<BlobRecord[]> {
    return (await this.db.selectFrom('blobs').selectAll().where('state', '=', 'deleting').limit(limit).execute()).map(toRecord);
  }

  async remove(digest: string): Promise<void> {
    await this.db.deleteFrom('blobs').where('digest', '=', digest).where('state', '=', 'deleting').execute();
  }

  async known(digests: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < digests.length; i += BATCH) {
      const rows = await this.db.selectFrom('blobs').select('digest').where('digest', 'in', digests.slice(i, i + BATCH)).execute();
      for (const row of rows) out.add(row.digest);
    }
    return out;
  }

  async referenced(modelId?: string): Promise<Array<{ digest: string; size: number; path: string; versionId: string | null }>> {
    let files = this.db.selectFrom('version_files as f').innerJoin('versions as v', 'v.id', 'f.version_id')
      .select(['f.digest', 'f.size', 'f.path', 'f.version_id'])
      .where('v.deleted_at', 'is', null);
    if (modelId !== undefined) files = files.where('v.model_id', '=', modelId);
    const out = (await files.orderBy('f.version_id').orderBy('f.path').execute())
      .map((r) => ({ digest: r.digest, size: Number(r.size), path: r.path, versionId: r.version_id as string | null }));
    if (modelId === undefined) {
      const artifacts = await this.db.selectFrom('artifacts').select(['digest', 'size', 'path']).orderBy('path').execute();
      for (const a of artifacts) out.push({ digest: a.digest, size: Number(a.size), path: a.path, versionId: null });
    }
    return out;
  }
}

export class KyselyUploadRepository implements UploadRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(s: UploadSession): Promise<void> {
    await this.db.insertInto('upload_sessions').values({
      id: s.id, created_by: s.createdBy, size: s.size, part_size: s.partSize, part_count: s.partCount, sha256: s.sha256,
      backend_ref: s.backendRef, status: s.status, digest: s.digest, created_at: s.createdAt, expires_at: s.expiresAt, completed_at: s.completedAt,
    }).execute();
  }

  async get(id: string): Promise<UploadSession | null> {
    const row = await this.db.selectFrom('upload_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async findOpen(createdBy: string, sha256: string, size: number, now: string): Promise<UploadSession | null> {
    const row = await this.db.selectFrom('upload_sessions').selectAll()
      .where('created_by', '=', createdBy).where('sha256', '=', sha256).where('status', '=', 'open')
      .where('size', '=', size).where('expires_at', '>', now)
      .orderBy('created_at', 'desc').executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async beginCompletion(id: string, now: string, holdUntil: string): Promise<boolean> {
    // Timestamps are ISO-8601 in UTC, which order as strings.
    const result = await this.db.updateTable('upload_sessions')
      .set((eb) => ({
        completing_at: now,
        expires_at: eb.case().when('expires_at', '<', holdUntil).then(holdUntil).else(eb.ref('expires_at')).end(),
      }))
      .where('id', '=', id).where('status', '=', 'open').where('expires_at', '>', now)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async endCompletion(id: string, began: string): Promise<void> {
    await this.db.updateTable('upload_sessions').set({ completing_at: null })
      .where('id', '=', id).where('status', '=', 'open').where('completing_at', '=', began).execute();
  }

  async close(id: string, status: Exclude<UploadStatus, 'open'>, at: string, when: { digest?: string; expiredBy?: string; idleSince?: string } = {}): Promise<boolean> {
    let update = this.db.updateTable('upload_sessions')
      .set({ status, completed_at: at, ...(when.digest ? { digest: when.digest } : {}) })
      .where('id', '=', id).where('status', '=', 'open');
    if (when.expiredBy !== undefined) update = update.where('expires_at', '<=', when.expiredBy);
    const idleSince = when.idleSince;
    if (idleSince !== undefined) update = update.where((eb) => eb.or([eb('completing_at', 'is', null), eb('completing_at', '<=', idleSince)]));
    const result = await update.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async putPart(uploadId: string, p: UploadPart): Promise<void> {
    const values = { size: p.size, sha256: p.sha256, crc32: p.crc32, etag: p.etag, received_at: p.receivedAt };
    await this.db.insertInto('upload_parts').values({ upload_id: uploadId, number: p.number, ...values })
      .onConflict((oc) => oc.columns(['upload_id', 'number']).doUpdateSet(values)).execute();
  }

  async deletePart(uploadId: string, number: number): Promise<void> {
    await this.db.deleteFrom('upload_parts').where('upload_id', '=', uploadId).where('number', '=', number).execute();
  }

  async parts(uploadId: string): Promise<UploadPart[]> {
    const rows = await this.db.selectFrom('upload_parts').selectAll().where('upload_id', '=', uploadId).orderBy('number').execute();
    return rows.map(toPart);
  }

  async part(uploadId: string, number: number): Promise<UploadPart | null> {
    const row = await this.db.selectFrom('upload_parts').selectAll().where('upload_id', '=', uploadId).where('number', '=', number).executeTakeFirst();
    return row ? toPart(row) : null;
  }

  async expired(now: string, limit: number): Promise<UploadSession[]> {
    const rows = await this.db.selectFrom('upload_sessions').selectAll().where('status', '=', 'open').where('expires_at', '<=', now)
      .orderBy('expires_at').limit(limit).execute();
    return rows.map(toSession);
  }

  async exists(ids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += BATCH) {
      const rows = await this.db.selectFrom('upload_sessions').select('id').where('id', 'in', ids.slice(i, i + BATCH)).execute();
      for (const row of rows) out.add(row.id);
    }
    return out;
  }
}

function toRecord(r: BlobsTable): BlobRecord {
  return { digest: r.digest, size: Number(r.size), state: r.state as BlobRecord['state'], refGen: Number(r.ref_gen), createdAt: r.created_at, touchedAt: r.touched_at };
}

function toPart(r: UploadPartsTable): UploadPart {
  return { number: r.number, size: Number(r.size), sha256: r.sha256, crc32: r.crc32, etag: r.etag, receivedAt: r.received_at };
}

function toSession(r: UploadSessionsTable): UploadSession {
  return {
    id: r.id, createdBy: r.created_by, size: Number(r.size), partSize: Number(r.part_size), partCount: r.part_count, sha256: r.sha256,
    backendRef: r.backend_ref, status: r.status as UploadStatus, digest: r.digest, createdAt: r.created_at, expiresAt: r.expires_at, completedAt: r.completed_at,
  };
}
