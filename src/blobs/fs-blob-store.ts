/**
 * Content-addressed blobs in a local directory: `sha256/ab/<hex>`. Bytes are hashed while
 * they stream into `tmp/`, fsynced, then renamed into place, so a blob either exists whole
 * under its digest or not at all, whatever crashes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelgateError, errors } from '../core/errors.js';
import type { BlobInfo, BlobStore } from '../core/ports.js';

export class FsBlobStore implements BlobStore {
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(join(this.root, 'sha256'), { recursive: true });
  }

  async put(body: AsyncIterable<Uint8Array>, options: { expectedDigest?: string; maxBytes: number }): Promise<BlobInfo> {
    const tmp = join(this.tmpDir, `${randomUUID()}.part`);
    const file = await open(tmp, 'wx', 0o644);
    const hash = createHash('sha256');
    let size = 0;
    let kept = false;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > options.maxBytes) throw errors.tooLarge(options.maxBytes);
        hash.update(chunk);
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
          offset += bytesWritten;
        }
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (options.expectedDigest !== undefined && options.expectedDigest !== digest) {
        throw errors.digestMismatch(options.expectedDigest, digest);
      }
      await file.sync();
      await file.close();
      const target = this.pathOf(digest);
      await mkdir(join(target, '..'), { recursive: true });
      // Identical bytes are stored once: renaming over an existing blob replaces it with the same bytes.
      await rename(tmp, target);
      kept = true;
      await syncDir(join(target, '..'));
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
    return createReadStream(this.pathOf(digest), range ? { start: range.start, end: range.end } : {});
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
