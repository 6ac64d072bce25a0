/** Uploading and reading content-addressed blobs. The bytes never pass through a transaction. */
import { requireRole } from '../access.js';
import type { CoreDeps } from '../core-deps.js';
import { errors } from '../errors.js';
import { checkDigest } from '../names.js';
import type { BlobInfo } from '../ports.js';
import type { Actor } from '../types.js';

export class BlobService {
  constructor(private readonly deps: CoreDeps) {}

  /** Streams the body into the store; a declared sha256 that does not match keeps nothing. */
  async upload(actor: Actor, body: AsyncIterable<Uint8Array>, declaredSha256?: string): Promise<BlobInfo> {
    requireRole(actor, 'contributor', 'uploading a blob');
    const expectedDigest = declaredSha256 === undefined ? undefined : checkDigest(normaliseDigest(declaredSha256));
    return this.deps.blobs.put(body, { expectedDigest, maxBytes: this.deps.limits.maxBlobBytes });
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
}

/** Accepts `sha256:<hex>` or a bare hex digest. */
export function normaliseDigest(digest: string): string {
  return digest.startsWith('sha256:') ? digest : `sha256:${digest}`;
}
