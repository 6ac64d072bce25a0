/**
 * Uploading and reading content-addressed blobs, in one request or as a resumable session of
 * parts. The bytes never pass through a transaction; the database records each blob before
 * it becomes visible, which is what quotas count and what garbage collection walks.
 */
import { hasRole, requireRole } from '../access.js';
import type { CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import { checkDigest } from '../names.js';
import type { BlobInfo, ClaimBlob, UploadHandle, UploadPart, UploadSession } from '../ports.js';
import type { Actor } from '../types.js';

const MiB = 1024 * 1024;
/** S3's ceiling on parts per multipart upload; sessions keep under it on every backend. */
const MAX_PARTS = 10_000;
/**
 * Each part costs a lease file, a datasync and a record besides its bytes: 16 MiB parts made a
 * 1 GiB session 5% faster than 8 MiB ones, with less server CPU, and 32 MiB no faster again.
 */
const DEFAULT_PART_SIZE = 16 * MiB;
const MAX_PART_SIZE = 1024 * MiB;
/** How long a completion holds its session open: far longer than publishing the largest blob takes. */
const COMPLETION_HOLD_MS = 60 * 60 * 1000;

export interface UploadState {
  session: UploadSession;
  parts: UploadPart[];
  /** Part numbers not yet received, in order. */
  missing: number[];
}

export class BlobService {
  constructor(private readonly deps: CoreDeps) {}

  /**
   * Streams the body into the store; a declared sha256 that does not match keeps nothing.
   * `declaredSize` (the request's Content-Length) lets limits refuse before any byte is read.
   */
  async upload(actor: Actor, body: AsyncIterable<Uint8Array>, declaredSha256?: string, declaredSize?: number): Promise<BlobInfo> {
    requireRole(actor, 'contributor', 'uploading a blob');
    const expectedDigest = declaredSha256 === undefined ? undefined : checkDigest(normaliseDigest(declaredSha256));
    if (declaredSize !== undefined) await this.checkRoom(declaredSize);
    return this.store(body, expectedDigest, declaredSize);
  }

  /** Stores bytes under their digest and records the blob (for artifact uploads as well). */
  store(body: AsyncIterable<Uint8Array>, expectedDigest?: string, declaredSize?: number): Promise<BlobInfo> {
    return this.deps.blobs.put(body, { expectedDigest, maxBytes: this.deps.limits.maxBlobBytes, size: declaredSize, claim: this.claim(false) });
  }

  async stat(digest: string): Promise<BlobInfo> {
    const info = await this.deps.blobs.stat(checkDigest(normaliseDigest(digest)));
    if (!info) throw errors.blobNotFound(digest);
    return info;
  }

  async read(digest: string, range?: { start: number; end: number }): Promise<AsyncIterable<Uint8Array>> {
    const stream = await this.deps.blobs.read(checkDigest(normaliseDigest(digest)), range);
    if (!stream) throw errors.blobNotFound(digest);
    return stream;
  }

  /** A presigned URL to fetch the bytes from the store directly, when the store is set up for it. */
  downloadUrl(digest: string): Promise<string | null> {
    return this.deps.blobs.downloadUrl(checkDigest(normaliseDigest(digest)));
  }

  /**
   * Opens an upload session for `size` bytes. With a declared sha256, the caller's open
   * session for the same bytes is returned instead of a new one: rerunning an interrupted
   * upload resumes it.
   */
  async startUpload(actor: Actor, input: { size: number; sha256?: string; partSize?: number }): Promise<UploadState & { resumed: boolean }> {
    requireRole(actor, 'contributor', 'uploading a blob');
    const sha256 = input.sha256 === undefined ? null : checkDigest(normaliseDigest(input.sha256));
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw errors.validation('size must be a whole number of bytes');
    const now = this.deps.clock.now();
    if (sha256 !== null) {
      const open = await this.deps.uow.read.uploads.findOpen(actor.username, sha256, input.size, now);
      if (open) return { ...(await this.state(open)), resumed: true };
    }
    const partSize = this.partSizeFor(input.size, input.partSize);
    await this.checkRoom(input.size);
    const id = this.deps.ids.uuid();
    const backendRef = await this.deps.blobs.startUpload(id, input.size, partSize);
    const session: UploadSession = {
      id, createdBy: actor.username, size: input.size, partSize, partCount: Math.max(1, Math.ceil(input.size / partSize)), sha256,
      backendRef, status: 'open', digest: null, createdAt: now, expiresAt: later(now, this.deps.limits.uploadTtlMs), completedAt: null,
    };
    try {
      await this.deps.uow.transaction((repos) => repos.uploads.insert(session));
    } catch (err) {
      await this.deps.blobs.abortUpload(handle(session)).catch(() => {});
      throw err;
    }
    return { session, parts: [], missing: range(1, session.partCount), resumed: false };
  }

  async getUpload(actor: Actor, id: string): Promise<UploadState> {
    return this.state(await this.ownSession(actor, id));
  }

  /**
   * Stores one part; a declared checksum (sha256, CRC-32 or both) that does not match records
   * nothing. The part's sha256 is computed unless it is checked by its CRC-32 alone.
   */
  async putPart(actor: Actor, id: string, number: number, body: AsyncIterable<Uint8Array>, declared: { sha256?: string; crc32?: string } = {}): Promise<UploadPart> {
    const session = await this.openSession(actor, id);
    if (!Number.isInteger(number) || number < 1 || number > session.partCount) {
      throw errors.validation(`part number must be from 1 to ${session.partCount}`, { part: number, part_count: session.partCount });
    }
    const expected = {
      sha256: declared.sha256 === undefined ? undefined : normalisePartSha(declared.sha256),
      crc32: declared.crc32 === undefined ? undefined : normalisePartCrc(declared.crc32),
    };
    const expectedSize = number < session.partCount ? session.partSize : session.size - (session.partCount - 1) * session.partSize;
    // The part is forgotten before its bytes are rewritten: a resend that fails leaves it missing, never stale.
    // (A first send has nothing to forget, and skips that commit: the disk's fsync rate bounds commits.)
    const previous = await this.deps.uow.read.uploads.part(id, number);
    if (previous) await this.deps.uow.transaction((repos) => repos.uploads.deletePart(id, number));
    let stored;
    try {
      const sha256 = expected.sha256 !== undefined || expected.crc32 === undefined;
      stored = await this.deps.blobs.putPart(handle(session), number, expectedSize, body, { sha256 });
    } catch (err) {
      // Refused before a byte was written (completion has taken the parts): the part stands as it was.
      if (previous && err instanceof ModelgateError && err.code === 'UPLOAD_NOT_OPEN') {
        await this.deps.uow.transaction((repos) => repos.uploads.putPart(id, previous));
      }
      throw err;
    }
    if (expected.sha256 !== undefined && expected.sha256 !== stored.sha256) throw errors.partDigest(number, 'sha256', expected.sha256, stored.sha256!);
    if (expected.crc32 !== undefined && expected.crc32 !== stored.crc32) throw errors.partDigest(number, 'crc32', expected.crc32, stored.crc32);
    const part: UploadPart = { number, size: stored.size, sha256: stored.sha256, crc32: stored.crc32, etag: stored.etag, receivedAt: this.deps.clock.now() };
    // Its fsync off the event loop: nothing durable builds on a part before the completion's
    // own commit, which syncs every earlier one with it.
    await this.deps.uow.transaction((repos) => repos.uploads.putPart(id, part), { aside: true });
    return part;
  }

  /** Assembles the parts; the blob exists only if the whole digest checks out. */
  async completeUpload(actor: Actor, id: string): Promise<BlobInfo & { upload_id: string }> {
    const session = await this.ownSession(actor, id);
    if (session.status === 'completed' && session.digest) return { digest: session.digest, size: session.size, upload_id: id };
    requireRole(actor, 'contributor', 'uploading a blob');
    this.requireOpen(session);
    const { parts, missing } = await this.state(session);
    if (missing.length > 0) throw errors.uploadIncomplete(id, missing);
    // From here until it ends (or the hold runs out, if it crashed) no collection expires the
    // session and no abort removes its parts: they are being published.
    const began = this.deps.clock.now();
    if (!(await this.deps.uow.transaction((repos) => repos.uploads.beginCompletion(id, began, later(began, COMPLETION_HOLD_MS))))) {
      const now = await this.deps.uow.read.uploads.get(id);
      if (now?.status === 'completed' && now.digest) return { digest: now.digest, size: now.size, upload_id: id };
      throw errors.uploadNotOpen(id, now?.status === 'open' ? 'expired' : now?.status ?? 'gone');
    }
    let blob: BlobInfo;
    try {
      blob = await this.deps.blobs.completeUpload(handle(session), parts.map((p) => ({ number: p.number, etag: p.etag })), {
        expectedDigest: session.sha256 ?? undefined, claim: this.claim(true),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as { name?: string }).name === 'NoSuchKey') {
        // A concurrent completion (or an abort) took the parts first: answer with what it did.
        const now = await this.deps.uow.read.uploads.get(id);
        if (now?.status === 'completed' && now.digest) return { digest: now.digest, size: now.size, upload_id: id };
        throw errors.uploadNotOpen(id, now?.status === 'open' ? 'completing' : now?.status ?? 'gone');
      }
      if (err instanceof ModelgateError && err.code === 'DIGEST_MISMATCH') {
        // Every part matched what arrived, so the declared digest names other bytes: nothing to resume.
        await this.deps.uow.transaction((repos) => repos.uploads.close(id, 'aborted', this.deps.clock.now()));
        await this.deps.blobs.abortUpload(handle(session)).catch(() => {});
      } else {
        // This completion is over: the session may be aborted now. (Its expiry stays held, in
        // case another completion is still publishing.)
        await this.deps.uow.transaction((repos) => repos.uploads.endCompletion(id, began)).catch(() => {});
      }
      throw err;
    }
    // The blob is stored and recorded whatever this finds: only a completion that outlived its hold could find the session closed.
    await this.deps.uow.transaction((repos) => repos.uploads.close(id, 'completed', this.deps.clock.now(), { digest: blob.digest }));
    return { ...blob, upload_id: id };
  }

  /** Closes an open session and drops its parts; a completion under way is not interrupted. */
  async abortUpload(actor: Actor, id: string): Promise<void> {
    const session = await this.ownSession(actor, id);
    if (session.status !== 'open') return;
    const now = this.deps.clock.now();
    if (!(await this.deps.uow.transaction((repos) => repos.uploads.close(id, 'aborted', now, { idleSince: later(now, -COMPLETION_HOLD_MS) })))) {
      const current = await this.deps.uow.read.uploads.get(id);
      if (current?.status === 'open') throw errors.uploadCompleting(id);
      return;
    }
    await this.deps.blobs.abortUpload(handle(session));
  }

  /** Refuses bytes that would not fit: larger than one blob may be, or beyond the store's quota. */
  async checkRoom(size: number): Promise<void> {
    const { maxBlobBytes, maxStoreBytes } = this.deps.limits;
    if (size > maxBlobBytes) throw errors.blobTooLarge(size, maxBlobBytes);
    if (maxStoreBytes > 0) {
      const used = await this.deps.uow.read.blobRecords.committedBytes();
      if (used + size > maxStoreBytes) throw errors.quotaExceeded(size, used, maxStoreBytes);
    }
  }

  /**
   * Records a verified blob before it becomes visible. A blob being garbage-collected at
   * that moment is waited for, then recorded anew.
   */
  private claim(reserved: boolean): ClaimBlob {
    return async (info) => {
      const existing = await this.deps.uow.read.blobRecords.get(info.digest);
      // Bytes already stored take no new room; a session reserved its room when it opened.
      if (!existing && !reserved) await this.checkRoom(info.size);
      for (let attempt = 0; attempt < 50; attempt++) {
        if (await this.deps.uow.transaction((repos) => repos.blobRecords.claim(info.digest, info.size, this.deps.clock.now()))) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new ModelgateError('UNAVAILABLE', `blob ${info.digest} is being garbage-collected; upload it again in a moment`, { digest: info.digest });
    };
  }

  private partSizeFor(size: number, requested?: number): number {
    const min = Math.max(this.deps.blobs.minPartSize, Math.ceil(size / MAX_PARTS));
    if (requested !== undefined) {
      if (!Number.isSafeInteger(requested) || requested < min || requested > MAX_PART_SIZE) {
        throw errors.validation(`part_size must be from ${min} to ${MAX_PART_SIZE} bytes for a ${size}-byte upload`, { min, max: MAX_PART_SIZE });
      }
      return requested;
    }
    return Math.max(DEFAULT_PART_SIZE, Math.ceil(min / MiB) * MiB);
  }

  private async ownSession(actor: Actor, id: string): Promise<UploadSession> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw errors.uploadNotFound(id);
    const session = await this.deps.uow.read.uploads.get(id);
    // Someone else's session is as invisible as a missing one.
    if (!session || (session.createdBy !== actor.username && !hasRole(actor, 'admin'))) throw errors.uploadNotFound(id);
    return session;
  }

  private async openSession(actor: Actor, id: string): Promise<UploadSession> {
    // A creator demoted since the session opened may no longer write to it.
    requireRole(actor, 'contributor', 'uploading a blob');
    const session = await this.ownSession(actor, id);
    this.requireOpen(session);
    return session;
  }

  /** An open session past its expiry is as closed as a collected one. */
  private requireOpen(session: UploadSession): void {
    if (session.status === 'open' && session.expiresAt <= this.deps.clock.now()) throw errors.uploadNotOpen(session.id, 'expired');
    if (session.status !== 'open') throw errors.uploadNotOpen(session.id, session.status);
  }

  private async state(session: UploadSession): Promise<UploadState> {
    const parts = await this.deps.uow.read.uploads.parts(session.id);
    const have = new Set(parts.map((p) => p.number));
    return { session, parts, missing: range(1, session.partCount).filter((n) => !have.has(n)) };
  }
}

function later(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

export function handle(session: UploadSession): UploadHandle {
  return { id: session.id, size: session.size, partSize: session.partSize, backendRef: session.backendRef };
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let n = from; n <= to; n++) out.push(n);
  return out;
}

/** Accepts `sha256:<hex>` or a bare hex digest. */
export function normaliseDigest(digest: string): string {
  return digest.startsWith('sha256:') ? digest : `sha256:${digest}`;
}

function normalisePartSha(sha: string): string {
  const hex = sha.startsWith('sha256:') ? sha.slice(7) : sha;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw errors.validation(`part sha256 ${JSON.stringify(sha.slice(0, 80))} must be 64 lowercase hex digits`);
  return hex;
}

/** A CRC-32 as 8 hex digits, either case. */
function normalisePartCrc(crc: string): string {
  if (!/^[0-9a-fA-F]{8}$/.test(crc)) throw errors.validation(`part crc32 ${JSON.stringify(crc.slice(0, 80))} must be 8 hex digits`);
  return crc.toLowerCase();
}
