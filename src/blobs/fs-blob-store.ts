/**
 * Content-addressed blobs in a local directory: `sha256/ab/<hex>`. Bytes are hashed while
 * they stream into `tmp/`, fsynced, then renamed into place, so a blob either exists whole
 * under its digest or not at all, whatever crashes. An upload session writes its parts at
 * their offsets into one preallocated file under `uploads/`, which becomes the blob on completion.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelgateError, errors } from '../core/errors.js';
import type { BlobInfo, BlobStore, ClaimBlob, StoredPart, UploadHandle } from '../core/ports.js';
import { writeHashed } from './stream-writer.js';

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly minPartSize = 64 * 1024;
  private readonly tmpDir: string;
  private readonly uploadsDir: string;

  constructor(private readonly root: string) {
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
    const file = await open(this.sessionPath(upload.id), 'r+');
    try {
      const tooLong = () => errors.partSize(number, expectedSize);
      const { size, hash } = await writeHashed(file, body, (number - 1) * upload.partSize, expectedSize, tooLong);
      if (size !== expectedSize) throw errors.partSize(number, expectedSize, size);
      await file.datasync();
      return { size, sha256: hash.digest('hex'), etag: '' };
    } finally {
      await file.close();
    }
  }

  async completeUpload(upload: UploadHandle, _parts: Array<{ number: number; etag: string }>, options: { expectedDigest?: string; claim: ClaimBlob }): Promise<BlobInfo> {
    // The parts are copied into a private file while hashing: a part write still in flight on
    // the session file can then never reach the published blob.
    const tmp = join(this.tmpDir, `${randomUUID()}.part`);
    const file = await open(tmp, 'wx', 0o644);
    let kept = false;
    try {
      const source = createReadStream(this.sessionPath(upload.id), { highWaterMark: 1 << 20 });
      const { size, hash } = await writeHashed(file, source, 0, upload.size, () => errors.partSize(0, upload.size));
      const digest = `sha256:${hash.digest('hex')}`;
      if (size !== upload.size) throw errors.partSize(0, upload.size, size);
      if (options.expectedDigest !== undefined && options.expectedDigest !== digest) throw errors.digestMismatch(options.expectedDigest, digest);
      await file.sync();
      await file.close();
      await this.publish(tmp, { digest, size }, options.claim);
      kept = true;
      await rm(this.sessionPath(upload.id), { force: true });
      return { digest, size };
    } finally {
      if (!kept) {
        await file.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  async abortUpload(upload: UploadHandle): Promise<void> {
    await rm(this.sessionPath(upload.id), { force: true });
  }

  async *listUploads(): AsyncIterable<{ id: string; backendRef: string; startedAt: Date }> {
    for (const name of await readdir(this.uploadsDir)) {
      const match = /^([0-9a-f-]{36})\.data$/.exec(name);
      if (!match) continue;
      const info = await stat(join(this.uploadsDir, name)).catch(() => null);
      if (info) yield { id: match[1]!, backendRef: '', startedAt: info.mtime };
    }
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

  private sessionPath(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new ModelgateError('VALIDATION_FAILED', `bad upload id ${id}`);
    return join(this.uploadsDir, `${id}.data`);
  }

  private pathOf(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ModelgateError('VALIDATION_FAILED', `bad digest ${digest}`);
    return join(this.root, 'sha256', hex.slice(0, 2), hex);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
