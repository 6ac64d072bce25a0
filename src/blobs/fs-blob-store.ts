/**
 * Content-addressed blobs in a local directory: `sha256/ab/<hex>`. Bytes are hashed while
 * they stream into `tmp/`, fsynced, then renamed into place, so a blob either exists whole
 * under its digest or not at all, whatever crashes.
 *
 * An upload session writes its parts at their offsets into one preallocated file,
 * `uploads/<id>.parts`, which itself becomes the blob: completion renames it to
 * `<id>.completing` (no part writer can open it after that), waits for the writers that
 * opened it before, hashes it and renames it into place. Every byte is written once.
 * Writers announce themselves with a lease file under `uploads/<id>.writers/`, created before
 * they open the session file and renewed while they write; a writer that could not renew in
 * time stops writing for good, and completion skips a lease nobody renewed for a whole lease
 * (its writer died). The lease files are kept as the session's write log (write-log.ts).
 *
 * So the bytes of a part whose log shows one finished write, and still shows only that write
 * when completion has frozen the file, are the bytes that were there when that write
 * finished. That lets the whole digest be hashed ahead, part by part in order as they land
 * (hash-ahead.ts), and completion only hashes what is left. Sessions from before the log
 * (`<id>.data`) are written and completed as before, with a full hash; a server too old to
 * keep the log cannot open a `.parts` file at all.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelgateError, errors } from '../core/errors.js';
import type { BlobInfo, BlobStore, ClaimBlob, StoredPart, UploadHandle } from '../core/ports.js';
import { DirectWrites, writeDirect, writeDirectPart, type DirectFile } from './direct-writer.js';
import { WrittenFileDigest } from './file-digest.js';
import { HashAhead } from './hash-ahead.js';
import { HashWorker } from './hash-worker.js';
import { writeChecked, type WrittenBytes } from './stream-writer.js';
import { WriteLog, checkUploadId } from './write-log.js';

/** Smaller uploads are written through the page cache, and hashed as they arrive on the event loop. */
const DIRECT_MIN_BYTES = 8 << 20;

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly minPartSize = 64 * 1024;
  private readonly tmpDir: string;
  private readonly uploadsDir: string;

  private readonly log: WriteLog;
  /** One worker thread hashes large single uploads and sessions' whole digests. */
  private readonly hasher = new HashWorker();
  private readonly ahead: HashAhead;
  private readonly direct: DirectWrites;
  /** Bytes of completed sessions that were hashed ahead, and that completion hashed itself. */
  readonly hashed = { ahead: 0, atCompletion: 0 };
  /** Single uploads stored past the page cache, and through it. */
  readonly puts = { direct: 0, cached: 0 };

  /** Session parts stored past the page cache, and through it. */
  readonly parts = { direct: 0, cached: 0 };

  /**
   * `leaseMs`: how long a part writer's lease lasts unrenewed (write-log.ts). `directWrites:
   * false` writes large single uploads and session parts through the page cache too
   * (direct-writer.ts), and hashes sessions from it. `directBlock`: the block direct writes
   * start and end on, the kernel's page by default (tests ask for a larger page than theirs).
   */
  constructor(private readonly root: string, options: { leaseMs?: number; directWrites?: boolean; directBlock?: number } = {}) {
    const directWrites = options.directWrites ?? true;
    this.tmpDir = join(root, 'tmp');
    this.uploadsDir = join(root, 'uploads');
    this.direct = new DirectWrites(this.tmpDir, directWrites, options.directBlock);
    this.log = new WriteLog(this.uploadsDir, options.leaseMs);
    this.ahead = new HashAhead(this.log, (id) => this.partsPath(id), this.hasher, { directReads: directWrites });
  }

  get location(): string {
    return this.root;
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
    await mkdir(join(this.root, 'sha256'), { recursive: true });
  }

  async put(body: AsyncIterable<Uint8Array>, options: { expectedDigest?: string; maxBytes: number; size?: number; claim: ClaimBlob }): Promise<BlobInfo> {
    const tmp = join(this.tmpDir, `${randomUUID()}.part`);
    const tooLong = () => errors.tooLarge(options.maxBytes);
    // A large upload goes past the page cache where the filesystem allows (direct-writer.ts).
    const direct = options.size !== undefined && options.size >= DIRECT_MIN_BYTES ? await this.direct.open(tmp, 'upload') : null;
    const file = direct?.file ?? await open(tmp, 'wx', 0o644);
    const sha256 = direct ? null : new WrittenFileDigest(this.hasher, tmp);
    let kept = false;
    try {
      let hex: string;
      let size: number;
      if (direct) {
        ({ size, hex } = await writeDirect(direct, body, { maxBytes: options.maxBytes, tooLong, hasher: this.hasher }));
        await file.sync();
      } else {
        ({ size } = await writeChecked(file, body, {
          position: 0, maxBytes: options.maxBytes, tooLong, durable: true,
          checksums: { sha256: false, crc32: false }, observe: sha256!.observe, onWritten: sha256!.written,
        }));
        // The sync goes beside the end of the hashing: bytes that turn out wrong are deleted anyway.
        [hex] = await Promise.all([sha256!.hex(size), file.sync()]);
      }
      const digest = `sha256:${hex}`;
      if (options.expectedDigest !== undefined && options.expectedDigest !== digest) {
        throw errors.digestMismatch(options.expectedDigest, digest);
      }
      await file.close();
      await this.publish(tmp, { digest, size }, options.claim);
      kept = true;
      this.puts[direct ? 'direct' : 'cached'] += 1;
      return { digest, size };
    } finally {
      // (writeDirect returns only once nothing writes from or hashes the slabs.)
      if (direct) this.direct.release(direct.slabs);
      if (!kept) {
        sha256?.drop();
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
    const file = await open(this.partsPath(id), 'wx', 0o644);
    try {
      await file.truncate(size);
      await file.sync();
    } finally {
      await file.close();
    }
    await syncDir(this.uploadsDir);
    return '';
  }

  async putPart(upload: UploadHandle, number: number, expectedSize: number, body: AsyncIterable<Uint8Array>, options = { sha256: true }): Promise<StoredPart> {
    const lease = await this.log.take(upload.id, number);
    let written = false;
    let logged = false;
    try {
      const path = this.partsPath(upload.id);
      // Parts that start on a block (every part size the server picks) go past the page cache.
      let direct: DirectFile | null = null;
      let file: FileHandle;
      try {
        direct = upload.partSize % this.direct.block === 0 ? await this.direct.open(path, 'part') : null;
        file = direct?.file ?? await open(path, 'r+');
        logged = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // A session from before the write log.
        file = await open(this.sessionPath(upload.id), 'r+').catch(async (err2: NodeJS.ErrnoException) => {
          if (err2.code !== 'ENOENT') throw err2;
          throw errors.uploadNotOpen(upload.id, (await exists(this.completingPath(upload.id))) ? 'completing' : 'gone');
        });
      }
      let cached: FileHandle | null = null;
      try {
        if (direct && expectedSize % direct.block !== 0) {
          // The session's last bytes past a whole block go through the cache.
          cached = await open(path, 'r+').catch((err: NodeJS.ErrnoException) => {
            throw err.code === 'ENOENT' ? errors.uploadNotOpen(upload.id, 'completing') : err;
          });
        }
        const write = {
          position: (number - 1) * upload.partSize, maxBytes: expectedSize, tooLong: () => errors.partSize(number, expectedSize),
          checksums: { sha256: options.sha256, crc32: true }, mayWrite: lease.check,
        };
        const { size, hash, crc32 }: WrittenBytes = direct
          ? await writeDirectPart(direct, body, { ...write, cached })
          : await writeChecked(file, body, { ...write, durable: true, expectedBytes: expectedSize });
        if (size !== expectedSize) throw errors.partSize(number, expectedSize, size);
        // (One inode: this syncs what went through the cache too.)
        await file.datasync();
        written = true;
        this.parts[direct ? 'direct' : 'cached'] += 1;
        return { size, sha256: hash?.digest('hex') ?? null, crc32: crc32!, etag: '' };
      } finally {
        try {
          await cached?.close();
        } finally {
          await file.close();
          if (direct) this.direct.release(direct.slabs);
        }
      }
    } finally {
      await lease.release(written);
      if (written && logged) this.ahead.landed(upload);
    }
  }

  async completeUpload(upload: UploadHandle, _parts: Array<{ number: number; etag: string }>, options: { expectedDigest?: string; claim: ClaimBlob }): Promise<BlobInfo> {
    const completing = this.completingPath(upload.id);
    const prehash = this.ahead.take(upload.id);
    try {
      await rename(this.partsPath(upload.id), completing).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        await rename(this.sessionPath(upload.id), completing);
      });
    } catch (err) {
      const carryOn = (err as NodeJS.ErrnoException).code === 'ENOENT' && (await exists(completing));
      if (!carryOn) this.ahead.forget(upload.id, prehash);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Another completion took the file first, or one crashed half-way: carry on from where it is.
      if (!carryOn) return this.published(upload);
    }
    await this.log.writersDone(upload.id);
    // The file is frozen now: what was hashed ahead still holds if no part it covers was written since.
    const { start, digest, bytes } = await this.ahead.digest(upload.id, prehash, completing);
    const file = await open(completing, 'r');
    let info: BlobInfo;
    try {
      // What was hashed ahead came from this file: it must still be all there, and no more.
      const size = start + bytes;
      const onDisk = (await file.stat()).size;
      if (size !== upload.size || onDisk !== upload.size) throw errors.partSize(0, upload.size, onDisk);
      this.hashed.ahead += start;
      this.hashed.atCompletion += bytes;
      info = { digest: `sha256:${digest}`, size };
      if (options.expectedDigest !== undefined && options.expectedDigest !== info.digest) throw errors.digestMismatch(options.expectedDigest, info.digest);
      // Each part was synced as it was acknowledged; this covers a completion taken over from a crash.
      await file.sync();
    } finally {
      await file.close();
    }
    // Where the bytes went, for a completion retried after this one crashes.
    await writeFile(this.publishedPath(upload.id), info.digest, { flush: true });
    await this.publish(completing, info, options.claim);
    await this.log.remove(upload.id);
    return info;
  }

  /** Bytes of an open session this server has hashed ahead so far (a diagnostic, for tests). */
  hashedAhead(id: string): number {
    return this.ahead.hashedAhead(id);
  }

  /** Stops the hashing worker (a new one starts if needed). */
  close(): Promise<void> {
    this.ahead.close();
    return this.hasher.close();
  }

  async abortUpload(upload: UploadHandle): Promise<void> {
    this.ahead.forget(upload.id);
    await rm(this.partsPath(upload.id), { force: true });
    await rm(this.sessionPath(upload.id), { force: true });
    await rm(this.completingPath(upload.id), { force: true });
    await rm(this.publishedPath(upload.id), { force: true });
    await this.log.remove(upload.id);
  }

  async *listUploads(): AsyncIterable<{ id: string; backendRef: string; startedAt: Date }> {
    // A session is up to four entries: its file (.parts, .data if older, or .completing once
    // completion took it), .published once its blob is in place, and the writers' leases.
    const newest = new Map<string, Date>();
    for (const name of await readdir(this.uploadsDir)) {
      const match = /^([0-9a-f-]{36})\.(parts|data|completing|published|writers)$/.exec(name);
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

  /** A completion retried after one that published the blob and crashed before it was recorded. */
  private async published(upload: UploadHandle): Promise<BlobInfo> {
    const digest = await readFile(this.publishedPath(upload.id), 'utf8').catch(() => null);
    const info = digest === null ? null : await this.stat(digest);
    if (!info || info.size !== upload.size) throw Object.assign(new Error(`upload session ${upload.id} has no stored parts`), { code: 'ENOENT' });
    return info;
  }

  private partsPath(id: string): string {
    return join(this.uploadsDir, `${checkUploadId(id)}.parts`);
  }

  /** A session's file before the write log. */
  private sessionPath(id: string): string {
    return join(this.uploadsDir, `${checkUploadId(id)}.data`);
  }

  private completingPath(id: string): string {
    return join(this.uploadsDir, `${checkUploadId(id)}.completing`);
  }

  private publishedPath(id: string): string {
    return join(this.uploadsDir, `${checkUploadId(id)}.published`);
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
