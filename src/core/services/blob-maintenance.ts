/**
 * Keeping the blob store honest: garbage collection of bytes nothing points to, and
 * verification that every referenced blob is present and hashes to its name.
 *
 * Collection never races a version into pointing at deleted bytes: a version's transaction
 * bumps each blob's generation, and a blob is marked `deleting` only if its generation is
 * unchanged since it was found unreferenced (and it is still unreferenced). Bytes go before
 * the record, and an upload of the same bytes waits for the record to go, so a blob is never
 * visible without its record.
 */
import { requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { requireModel } from './lookup.js';
import { handle } from './blob-service.js';
import { digestOf } from '../digest.js';

export interface GcReport {
  dry_run: boolean;
  grace_seconds: number;
  blobs_removed: number;
  bytes_removed: number;
  /** The first 1,000 digests removed (or, in a dry run, that would be). */
  removed: string[];
  sessions_expired: number;
  session_storage_removed: number;
  temp_files_removed: number;
  temp_bytes_removed: number;
  unrecorded_removed: number;
}

export interface VerifyProblem {
  digest: string;
  problem: 'missing' | 'corrupt' | 'size_mismatch';
  /** Where it is used: `model/version:path` or `artifacts/<path>`. */
  used_by: string[];
  actual?: string;
}

export interface VerifyReport {
  ok: boolean;
  scope: string;
  blobs_checked: number;
  bytes_checked: number;
  problems: VerifyProblem[];
}

const BATCH = 200;
const TEMP_MIN_AGE_MS = 3_600_000;
const LEASE_MS = 60_000;

export class BlobMaintenance {
  private running: Promise<GcReport> | null = null;

  constructor(private readonly deps: CoreDeps) {}

  /** One collection at a time per process; a second caller waits for the running one. */
  gc(ctx: RequestContext, options: { dryRun?: boolean; graceMs?: number } = {}): Promise<GcReport> {
    requireRole(ctx.actor, 'admin', 'collecting garbage');
    if (options.dryRun) return this.collect(ctx, true, options.graceMs);
    this.running ??= this.leased(() => this.collect(ctx, false, options.graceMs)).finally(() => { this.running = null; });
    return this.running;
  }

  /**
   * Runs `work` holding the database's `gc` lease, so that servers sharing a database collect
   * one at a time (a second one waits up to a minute). The lease outlives a crashed holder by
   * at most its term, and is renewed while the work runs.
   */
  private async leased<T>(work: () => Promise<T>): Promise<T> {
    const { uow, clock, ids } = this.deps;
    const holder = ids.uuid();
    const take = () => {
      const now = clock.now();
      return uow.transaction((repos) => repos.blobRecords.takeLease('gc', holder, now, new Date(Date.parse(now) + LEASE_MS).toISOString()));
    };
    for (let waited = 0; !(await take()); waited += 250) {
      if (waited >= 60_000) throw new ModelgateError('UNAVAILABLE', 'another server is collecting garbage; try again later');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const renew = setInterval(() => { take().catch(() => {}); }, LEASE_MS / 3);
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await uow.transaction((repos) => repos.blobRecords.releaseLease('gc', holder)).catch(() => {});
    }
  }

  private async collect(ctx: RequestContext, dryRun: boolean, graceMs = this.deps.limits.gcGraceMs): Promise<GcReport> {
    const { uow, blobs, clock } = this.deps;
    const now = clock.now();
    const before = new Date(Date.parse(now) - graceMs);
    // Temporary files and session storage may belong to an upload still in progress (a new
    // session's storage exists a moment before its row): they wait at least an hour, whatever the grace.
    const staleBefore = new Date(Math.min(before.getTime(), Date.parse(now) - TEMP_MIN_AGE_MS));
    const report: GcReport = {
      dry_run: dryRun, grace_seconds: Math.round(graceMs / 1000), blobs_removed: 0, bytes_removed: 0, removed: [],
      sessions_expired: 0, session_storage_removed: 0, temp_files_removed: 0, temp_bytes_removed: 0, unrecorded_removed: 0,
    };
    const note = (digest: string, size: number) => {
      report.blobs_removed += 1;
      report.bytes_removed += size;
      if (report.removed.length < 1000) report.removed.push(digest);
    };

    // Upload sessions past their expiry, and session storage the database no longer needs.
    for (const session of await uow.read.uploads.expired(now, 10_000)) {
      if (dryRun) {
        report.sessions_expired += 1;
        continue;
      }
      // Only if still expired: a completion that began since holds it open.
      if (!(await uow.transaction((repos) => repos.uploads.close(session.id, 'expired', now, { expiredBy: now })))) continue;
      report.sessions_expired += 1;
      await blobs.abortUpload(handle(session));
    }
    const stored: Array<{ id: string; backendRef: string; startedAt: Date }> = [];
    for await (const upload of blobs.listUploads()) stored.push(upload);
    for (let i = 0; i < stored.length; i += BATCH) {
      const batch = stored.slice(i, i + BATCH);
      const known = await uow.read.uploads.exists(batch.map((u) => u.id));
      for (const upload of batch) {
        const session = known.has(upload.id) ? await uow.read.uploads.get(upload.id) : null;
        const forgotten = !session && upload.startedAt < staleBefore;
        if (!forgotten && (!session || session.status === 'open')) continue;
        report.session_storage_removed += 1;
        if (!dryRun) await blobs.abortUpload({ id: upload.id, size: 0, partSize: 0, backendRef: upload.backendRef });
      }
    }
    if (!dryRun) {
      const temp = await blobs.cleanTemp(staleBefore);
      report.temp_files_removed = temp.files;
      report.temp_bytes_removed = temp.bytes;
    }

    // Blobs a previous collection marked and did not finish.
    if (!dryRun) {
      for (const record of await uow.read.blobRecords.deleting(10_000)) {
        await blobs.delete(record.digest);
        await uow.transaction((repos) => repos.blobRecords.remove(record.digest));
        note(record.digest, record.size);
      }
    }

    // Recorded blobs nothing points to.
    const seen = new Set<string>();
    for (;;) {
      const candidates = (await uow.read.blobRecords.unreferenced(before.toISOString(), BATCH)).filter((r) => !seen.has(r.digest));
      if (candidates.length === 0) break;
      for (const record of candidates) {
        seen.add(record.digest);
        if (dryRun) {
          note(record.digest, record.size);
          continue;
        }
        if (!(await uow.transaction((repos) => repos.blobRecords.markDeleting(record.digest, record.refGen, before.toISOString())))) continue;
        await blobs.delete(record.digest);
        await uow.transaction((repos) => repos.blobRecords.remove(record.digest));
        note(record.digest, record.size);
      }
    }

    // Bytes in the store with no record at all (left by a crash before this registry recorded blobs).
    const unrecorded: Array<{ digest: string; size: number; modifiedAt: Date }> = [];
    for await (const blob of blobs.list()) {
      unrecorded.push(blob);
      if (unrecorded.length >= BATCH) await this.sweepUnrecorded(unrecorded.splice(0), before, dryRun, report, note);
    }
    await this.sweepUnrecorded(unrecorded, before, dryRun, report, note);

    if (!dryRun && report.blobs_removed > 0) {
      await change(this.deps, ctx, async (_repos, log) => {
        log.record({
          action: 'blobs.collected', resource: 'blobs', subject: '',
          changes: { blobs: report.blobs_removed, bytes: report.bytes_removed, digests: report.removed.slice(0, 100) },
          data: { blobs_removed: report.blobs_removed, bytes_removed: report.bytes_removed },
        });
      });
    }
    return report;
  }

  private async sweepUnrecorded(batch: Array<{ digest: string; size: number; modifiedAt: Date }>, before: Date, dryRun: boolean, report: GcReport, note: (digest: string, size: number) => void): Promise<void> {
    if (batch.length === 0) return;
    const { uow, blobs, clock } = this.deps;
    const known = await uow.read.blobRecords.known(batch.map((b) => b.digest));
    for (const blob of batch) {
      if (known.has(blob.digest) || blob.modifiedAt >= before) continue;
      if (!dryRun) {
        // Recorded as `deleting` first, so an upload of the same bytes meanwhile waits for us
        // instead of having its fresh copy deleted; if a record appeared, the bytes are claimed.
        if (!(await uow.transaction((repos) => repos.blobRecords.adoptForDeletion(blob.digest, blob.size, clock.now())))) continue;
        await blobs.delete(blob.digest);
        await uow.transaction((repos) => repos.blobRecords.remove(blob.digest));
      }
      report.unrecorded_removed += 1;
      note(blob.digest, blob.size);
    }
  }

  /**
   * Rehashes every blob that a live version (of one model, or all) or a run artifact points
   * to, and names each one missing or corrupt along with what uses it.
   */
  async verify(ctx: RequestContext, options: { model?: string } = {}): Promise<VerifyReport> {
    requireRole(ctx.actor, 'approver', 'verifying stored blobs');
    let modelId: string | undefined;
    const names = new Map<string, string>();
    if (options.model !== undefined) {
      const model = await requireModel(this.deps.uow.read, options.model);
      modelId = model.id;
    }
    const refs = await this.deps.uow.read.blobRecords.referenced(modelId);
    const versionIds = [...new Set(refs.map((r) => r.versionId).filter((id): id is string => id !== null))];
    for (const version of await this.deps.uow.read.versions.byIds(versionIds)) names.set(version.id, `${version.model}/${version.version}`);
    const byDigest = new Map<string, { size: number; usedBy: string[] }>();
    for (const ref of refs) {
      const entry = byDigest.get(ref.digest) ?? { size: ref.size, usedBy: [] };
      if (entry.usedBy.length < 20) entry.usedBy.push(ref.versionId ? `${names.get(ref.versionId) ?? ref.versionId}:${ref.path}` : `artifacts/${ref.path}`);
      byDigest.set(ref.digest, entry);
    }
    const report: VerifyReport = { ok: true, scope: options.model ?? 'all', blobs_checked: 0, bytes_checked: 0, problems: [] };
    for (const [digest, { size, usedBy }] of byDigest) {
      report.blobs_checked += 1;
      const stream = await this.deps.blobs.read(digest);
      if (!stream) {
        report.problems.push({ digest, problem: 'missing', used_by: usedBy });
        continue;
      }
      const actual = await digestOf(stream);
      report.bytes_checked += actual.size;
      if (actual.digest !== digest) report.problems.push({ digest, problem: 'corrupt', used_by: usedBy, actual: actual.digest });
      else if (actual.size !== size) report.problems.push({ digest, problem: 'size_mismatch', used_by: usedBy });
    }
    report.ok = report.problems.length === 0;
    return report;
  }
}
