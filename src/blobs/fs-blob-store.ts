/**
 * Content-addressed blobs in a local directory: `sha256/ab/<hex>`. Bytes are hashed while
 * they stream into `tmp/`, fsynced, then renamed into place, so a blob either exists whole
 * under its digest or not at all, whatever crashes.
 *
 * An upload session writes its parts at their offsets into one preallocated file,
 * `uploads/<id>.data`, which itself becomes the blob: completion renames it to
 * `<id>.completing` (no part writer can open it after that), waits for the writers that
 * opened it before, hashes it and renames it into place. Every byte is written once.
 * Writers announce themselves with a lease file in `uploads/<id>.writers/`, created before
 * they open the session file and renewed while they write; a writer that could not renew in
 * time stops writing for good, and completion skips a lease nobody renewed for LEASE_MS
 * (its writer died).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelgateError, errors } from '../core/errors.js';
import type { BlobInfo, BlobStore, ClaimBlob, StoredPart, UploadHandle } from '../core/ports.js';
import { writeHashed } from './stream-writer.js';

/**
 * A part writer's lease, in ms: completion takes a lease file that nobody renewed for this
 * long, as measured by its own clock (hosts sharing the directory need not agree on the
 * time), for a dead writer's. Writers renew every sixth of it, and stop for good once their
 * last renewal is half of it old.
 */
const LEASE_MS = 30_000;

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly minPartSize = 64 * 1024;
  private readonly tmpDir: string;
  private readonly uploadsDir: string;

  private readonly leaseMs: number;

  constructor(private readonly root: string, options: { leaseMs?: number } = {}) {
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.tmpDir = join(root, 'tmp');
    this.uploadsDir = join(root, 'uploads');
  }

  get location(): string {
    return this.root;
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
    await mkdir(join(this.root, 'sha256'), { recursive: true });
  }

  async put(body: AsyncIterable<Uint8Array>, options: { expectedDigest?: string; maxBytes: number; claim: ClaimBlob }): Promise<BlobInfo> {
    const tmp = join(this.tmpDir, `${randomUUID()}.part`);
    const file = await open(tmp, 'wx', 0o644);
    let kept = false;
    try {
      const { size, hash } = await writeHashed(file, body, 0, options.maxBytes, () => errors.tooLarge(options.maxBytes));
      const digest = `sha256:${hash.digest('hex')}`;
      if (options.expectedDigest !== undefined && options.expectedDigest !== digest) {
        throw errors.digestMismatch(options.expectedDigest, digest);
      }
      await file.sync();
      await file.close();
      await this.publish(tmp, { digest, size }, options.claim);
      kept = true;
      return { digest, size };
    } finally {
      if (!kept) {
        await file.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    try {
      const info = await stat(this.pathOf(digest));
      return { digest, size: info.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async read(digest: string, range?: { start: number; end: number }): Promise<AsyncIterable<Uint8Array> | null> {
    if (!(await this.stat(digest))) return null;
    return createReadStream(this.pathOf(digest), { highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async downloadUrl(): Promise<string | null> {
    return null;
  }

  async delete(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  async *list(): AsyncIterable<BlobInfo & { modifiedAt: Date }> {
    const base = join(this.root, 'sha256');
    for (const shard of (await readdir(base)).sort()) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of (await readdir(join(base, shard))).sort()) {
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        const info = await stat(join(base, shard, name)).catch(() => null);
        if (info) yield { digest: `sha256:${name}`, size: info.size, modifiedAt: info.mtime };
      }
    }
  }

  async startUpload(id: string, size: number): Promise<string> {
    const file = await open(this.sessionPath(id), 'wx', 0o644);
    try {
      await file.truncate(size);
      await file.sync();
    } finally {
      await file.close();
    }
    await syncDir(this.uploadsDir);
    return '';
  }

  async putPart(upload: UploadHandle, number: number, expectedSize: number, body: AsyncIterable<Uint8Array>): Promise<StoredPart> {
    const lease = await this.takeLease(upload.id);
    try {
      let file;
      try {
        file = await open(this.sessionPath(upload.id), 'r+');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        throw errors.uploadNotOpen(upload.id, (await exists(this.completingPath(upload.id))) ? 'completing' : 'gone');
      }
      try {
        const tooLong = () => errors.partSize(number, expectedSize);
        const { size, hash } = await writeHashed(file, body, (number - 1) * upload.partSize, expectedSize, tooLong, lease.check);
        if (size !== expectedSize) throw errors.partSize(number, expectedSize, size);
        await file.datasync();
        return { size, sha256: hash.digest('hex'), etag: '' };
      } finally {
        await file.close();
      }
    } finally {
      await lease.release();
    }
  }

  async completeUpload(upload: UploadHandle, _parts: Array<{ number: number; etag: string }>, options: { expectedDigest?: string; claim: ClaimBlob }): Promise<BlobInfo> {
    const completing = this.completingPath(upload.id);
    try {
      await rename(this.sessionPath(upload.id), completing);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Another completion took the file first, or one crashed half-way: carry on from where it is.
      if (!(await exists(completing))) return this.published(upload);
    }
    await this.writersDone(upload.id);
    const file = await open(completing, 'r');
    let info: BlobInfo;
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of file.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      if (size !== upload.size) throw errors.partSize(0, upload.size, size);
      info = { digest: `sha256:${hash.digest('hex')}`, size };
      if (options.expectedDigest !== undefined && options.expectedDigest !== info.digest) throw errors.digestMismatch(options.expectedDigest, info.digest);
      // Each part was synced as it was acknowledged; this covers a completion taken over from a crash.
      await file.sync();
    } finally {
      await file.close();
    }
    // Where the bytes went, for a completion retried after this one crashes.
    await writeFile(this.publishedPath(upload.id), info.digest, { flush: true });
    await this.publish(completing, info, options.claim);
    await rm(join(this.uploadsDir, `${upload.id}.writers`), { recursive: true, force: true });
    return info;
  }

  async abortUpload(upload: UploadHandle): Promise<void> {
    await rm(this.sessionPath(upload.id), { force: true });
    await rm(this.completingPath(upload.id), { force: true });
    await rm(this.publishedPath(upload.id), { force: true });
    await rm(join(this.uploadsDir, `${upload.id}.writers`), { recursive: true, force: true });
  }

  async *listUploads(): AsyncIterable<{ id: string; backendRef: string; startedAt: Date }> {
    // A session is up to four entries: its file (.data, or .completing once completion took
    // it), .published once its blob is in place, and the writers' leases.
    const newest = new Map<string, Date>();
    for (const name of await readdir(this.uploadsDir)) {
      const match = /^([0-9a-f-]{36})\.(data|completing|published|writers)$/.exec(name);
      if (!match) continue;
      const info = await stat(join(this.uploadsDir, name)).catch(() => null);
      const seen = newest.get(match[1]!);
      if (info && (!seen || info.mtime > seen)) newest.set(match[1]!, info.mtime);
    }
    for (const [id, startedAt] of newest) yield { id, backendRef: '', startedAt };
  }

  /** Temporary files of single-shot uploads that a crash left behind, older than `before`. */
  async cleanTemp(before: Date): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const info = await stat(path).catch(() => null);
      if (!info || info.mtime >= before) continue;
      await rm(path, { force: true });
      files += 1;
      bytes += info.size;
    }
    return { files, bytes };
  }

  /** Records the blob, then renames the durable file into place: never visible unrecorded. */
  private async publish(path: string, info: BlobInfo, claim: ClaimBlob): Promise<void> {
    await claim(info);
    const target = this.pathOf(info.digest);
    await mkdir(join(target, '..'), { recursive: true });
    // Identical bytes are stored once, and a stored blob is never replaced: whoever holds an
    // open handle on the new file cannot reach bytes that versions already point to.
    if (await this.stat(info.digest)) {
      await rm(path, { force: true });
      return;
    }
    await rename(path, target);
    await syncDir(join(target, '..'));
  }

  /**
   * Announces a part writer before it opens the session file, and renews the announcement
   * while it writes. `check` runs before each write: a writer whose lease may have lapsed
   * (its process stalled past FENCE_MS) stops rather than write into a completed blob.
   */
  private async takeLease(id: string): Promise<{ check(): void; release(): Promise<void> }> {
    const dir = join(this.uploadsDir, `${this.checkId(id)}.writers`);
    await mkdir(dir, { recursive: true });
    const path = join(dir, randomUUID());
    await writeFile(path, '', { flag: 'wx' });
    let renewedAt = performance.now();
    // Once lapsed, never renewed: completion may have taken the lease for a dead writer's.
    let lapsed = false;
    const fence = this.leaseMs / 2;
    const timer = setInterval(() => {
      lapsed ||= performance.now() - renewedAt > fence;
      if (lapsed) return;
      const now = new Date();
      const started = performance.now();
      utimes(path, now, now).then(() => { if (!lapsed) renewedAt = started; }, () => { /* the next check decides */ });
    }, this.leaseMs / 6);
    timer.unref();
    return {
      check() {
        lapsed ||= performance.now() - renewedAt > fence;
        // Some bytes may be written: the part is left missing, to be sent again.
        if (lapsed) throw new ModelgateError('UNAVAILABLE', `this part of upload session ${id} stopped: its writer stalled past its lease; send the part again`, { upload_id: id });
      },
      async release() {
        clearInterval(timer);
        await rm(path, { force: true });
      },
    };
  }

  /** Waits until every part writer that opened the session file has finished, or is dead. */
  private async writersDone(id: string): Promise<void> {
    const dir = join(this.uploadsDir, `${id}.writers`);
    const seen = new Map<string, { mtime: number; since: number }>();
    for (;;) {
      const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
      let live = 0;
      for (const name of names) {
        const info = await stat(join(dir, name)).catch(() => null);
        if (!info) continue;
        const now = performance.now();
        const last = seen.get(name);
        if (!last || last.mtime !== info.mtimeMs) seen.set(name, { mtime: info.mtimeMs, since: now });
        // Unrenewed for a whole lease while we watched: its writer is gone.
        const dead = now - seen.get(name)!.since > this.leaseMs;
        if (dead) await rm(join(dir, name), { force: true });
        else live += 1;
      }
      if (live === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** A completion retried after one that published the blob and crashed before it was recorded. */
  private async published(upload: UploadHandle): Promise<BlobInfo> {
    const digest = await readFile(this.publishedPath(upload.id), 'utf8').catch(() => null);
    const info = digest === null ? null : await this.stat(digest);
    if (!info || info.size !== upload.size) throw Object.assign(new Error(`upload session ${upload.id} has no stored parts`), { code: 'ENOENT' });
    return info;
  }

  private checkId(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new ModelgateError('VALIDATION_FAILED', `bad upload id ${id}`);
    return id;
  }

  private sessionPath(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.data`);
  }

  private completingPath(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.completing`);
  }

  private publishedPath(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.published`);
  }

  private pathOf(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ModelgateError('VALIDATION_FAILED', `bad digest ${digest}`);
    return join(this.root, 'sha256', hex.slice(0, 2), hex);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
