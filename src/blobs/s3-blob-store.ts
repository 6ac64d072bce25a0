/**
 * Content-addressed blobs in an S3-compatible bucket: `<prefix>sha256/ab/<hex>`.
 *
 * A single-shot upload is spooled to a local temporary file while it is hashed, so the
 * digest is checked before anything reaches the bucket. An upload session is an S3 multipart
 * upload to a staging key (`<prefix>uploads/<id>`); completing it reads the staged object
 * back to check the whole digest, and only then copies it under its digest.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { digestOf } from '../core/digest.js';
import { ModelgateError, errors } from '../core/errors.js';
import type { BlobInfo, BlobStore, ClaimBlob, StoredPart, UploadHandle } from '../core/ports.js';
import { writeChecked, writeHashed } from './stream-writer.js';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, '' or ending in '/'. */
  prefix: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Downloads redirect to a URL presigned for this long; 0 streams them through the server. */
  presignSeconds: number;
  /** A local directory for spooling single-shot uploads. */
  spoolDir: string;
}

/** S3 copies objects up to 5 GiB in one request; larger ones are copied in parts. */
const COPY_LIMIT = 5 * 1024 ** 3;
const COPY_PART = 1024 ** 3;

export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  /** S3 refuses parts under 5 MiB, but for the last. */
  readonly minPartSize = 5 * 1024 * 1024;
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      // Our own sha256 covers integrity; the SDK's default streaming checksums (aws-chunked
      // trailers) are not understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  get location(): string {
    return `s3://${this.options.bucket}/${this.options.prefix}${this.options.endpoint ? ` at ${this.options.endpoint}` : ''}`;
  }

  async init(): Promise<void> {
    await mkdir(this.options.spoolDir, { recursive: true });
    // Fails early, with the store's own message, when the bucket is unreachable or missing.
    await this.client.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.options.prefix, MaxKeys: 1 }));
  }

  async put(body: AsyncIterable<Uint8Array>, options: { expectedDigest?: string; maxBytes: number; claim: ClaimBlob }): Promise<BlobInfo> {
    const spool = join(this.options.spoolDir, `${randomUUID()}.part`);
    const file = await open(spool, 'wx', 0o600);
    try {
      const { size, hash } = await writeHashed(file, body, { maxBytes: options.maxBytes, tooLong: () => errors.tooLarge(options.maxBytes), durable: false });
      await file.close();
      const digest = `sha256:${hash.digest('hex')}`;
      if (options.expectedDigest !== undefined && options.expectedDigest !== digest) throw errors.digestMismatch(options.expectedDigest, digest);
      await options.claim({ digest, size });
      if (!(await this.stat(digest))) {
        await this.client.send(new PutObjectCommand({
          Bucket: this.options.bucket, Key: this.keyOf(digest), Body: createReadStream(spool), ContentLength: size, ContentType: 'application/octet-stream',
        }));
      }
      return { digest, size };
    } finally {
      await file.close().catch(() => {});
      await rm(spool, { force: true });
    }
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) }));
      return { digest, size: Number(head.ContentLength ?? 0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(digest: string, range?: { start: number; end: number }): Promise<AsyncIterable<Uint8Array> | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({
        Bucket: this.options.bucket, Key: this.keyOf(digest), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }));
      return object.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async downloadUrl(digest: string): Promise<string | null> {
    if (this.options.presignSeconds <= 0) return null;
    const command = new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) });
    return getSignedUrl(this.client, command, { expiresIn: Math.max(1, Math.round(this.options.presignSeconds)) });
  }

  async delete(digest: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) }));
  }

  async *list(): AsyncIterable<BlobInfo & { modifiedAt: Date }> {
    for await (const object of this.objects(`${this.options.prefix}sha256/`)) {
      const hex = /([0-9a-f]{64})$/.exec(object.key)?.[1];
      if (hex) yield { digest: `sha256:${hex}`, size: object.size, modifiedAt: object.modifiedAt };
    }
  }

  async startUpload(id: string): Promise<string> {
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.options.bucket, Key: this.stagingKey(id) }));
    if (!created.UploadId) throw new ModelgateError('UNAVAILABLE', 'the object store did not start a multipart upload');
    return created.UploadId;
  }

  async putPart(upload: UploadHandle, number: number, expectedSize: number, body: AsyncIterable<Uint8Array>, options = { sha256: true }): Promise<StoredPart> {
    // The part is spooled first, so its length and checksums are known before S3 sees a byte,
    // and a short or dropped request never leaves half a part in the bucket.
    const spool = join(this.options.spoolDir, `${upload.id}-${number}-${randomUUID()}.part`);
    const file = await open(spool, 'wx', 0o600);
    try {
      const tooLong = () => errors.partSize(number, expectedSize);
      const { size, hash, crc32 } = await writeChecked(file, body, { position: 0, maxBytes: expectedSize, tooLong, checksums: { sha256: options.sha256, crc32: true }, durable: false });
      await file.close();
      if (size !== expectedSize) throw errors.partSize(number, expectedSize, size);
      const sent = await this.client.send(new UploadPartCommand({
        Bucket: this.options.bucket, Key: this.stagingKey(upload.id), UploadId: upload.backendRef, PartNumber: number,
        Body: createReadStream(spool), ContentLength: size,
      }));
      return { size, sha256: hash?.digest('hex') ?? null, crc32: crc32!, etag: sent.ETag ?? '' };
    } finally {
      await file.close().catch(() => {});
      await rm(spool, { force: true });
    }
  }

  async completeUpload(upload: UploadHandle, parts: Array<{ number: number; etag: string }>, options: { expectedDigest?: string; claim: ClaimBlob }): Promise<BlobInfo> {
    const staging = this.stagingKey(upload.id);
    try {
      await this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.options.bucket, Key: staging, UploadId: upload.backendRef,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
      }));
    } catch (err) {
      // A completion that already happened (the server died before recording it) left the staged object.
      if (!isNotFound(err) && !/NoSuchUpload/.test(String((err as Error).name))) throw err;
    }
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: staging }));
    const { digest, size } = await digestOf(object.Body as Readable);
    const dropStaging = () => this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: staging }));
    if (size !== upload.size || (options.expectedDigest !== undefined && options.expectedDigest !== digest)) {
      await dropStaging();
      if (size !== upload.size) throw errors.partSize(0, upload.size, size);
      throw errors.digestMismatch(options.expectedDigest!, digest);
    }
    // Any other failure keeps the staged object, so completing again can still succeed.
    await options.claim({ digest, size });
    if (!(await this.stat(digest))) await this.copy(staging, this.keyOf(digest), size);
    await dropStaging();
    return { digest, size };
  }

  async abortUpload(upload: UploadHandle): Promise<void> {
    if (upload.backendRef) {
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: this.stagingKey(upload.id), UploadId: upload.backendRef }));
      } catch (err) {
        // Gone already (completed or aborted), or a server that cannot abort (s3rver): the staged object is removed below either way.
        if (!isNotFound(err) && !/NoSuchUpload|MethodNotAllowed|NotImplemented/.test(String((err as Error).name))) throw err;
      }
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.stagingKey(upload.id) }));
  }

  async *listUploads(): AsyncIterable<{ id: string; backendRef: string; startedAt: Date }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(new ListMultipartUploadsCommand({
          Bucket: this.options.bucket, Prefix: `${this.options.prefix}uploads/`, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker,
        }));
      } catch {
        return; // Some S3-compatible servers do not list multipart uploads; expiry still aborts known sessions.
      }
      for (const u of page.Uploads ?? []) {
        const id = /([0-9a-f-]{36})$/.exec(u.Key ?? '')?.[1];
        if (id && u.UploadId) yield { id, backendRef: u.UploadId, startedAt: u.Initiated ?? new Date(0) };
      }
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async cleanTemp(before: Date): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for (const name of await readdir(this.options.spoolDir)) {
      const path = join(this.options.spoolDir, name);
      const info = await stat(path).catch(() => null);
      if (!info || info.mtime >= before) continue;
      await rm(path, { force: true });
      files += 1;
      bytes += info.size;
    }
    // Staged objects whose completion was interrupted.
    for await (const object of this.objects(`${this.options.prefix}uploads/`)) {
      if (object.modifiedAt >= before) continue;
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: object.key }));
      files += 1;
      bytes += object.size;
    }
    return { files, bytes };
  }

  private async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${this.options.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}`;
    if (size <= COPY_LIMIT) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.options.bucket, Key: to, CopySource: source }));
      return;
    }
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.options.bucket, Key: to }));
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    try {
      for (let start = 0, n = 1; start < size; start += COPY_PART, n++) {
        const end = Math.min(size, start + COPY_PART) - 1;
        const part = await this.client.send(new UploadPartCopyCommand({
          Bucket: this.options.bucket, Key: to, UploadId: created.UploadId, PartNumber: n, CopySource: source, CopySourceRange: `bytes=${start}-${end}`,
        }));
        parts.push({ PartNumber: n, ETag: part.CopyPartResult?.ETag ?? '' });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.options.bucket, Key: to, UploadId: created.UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: to, UploadId: created.UploadId })).catch(() => {});
      throw err;
    }
  }

  private async *objects(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: Number(o.Size ?? 0), modifiedAt: o.LastModified ?? new Date(0) };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private stagingKey(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new ModelgateError('VALIDATION_FAILED', `bad upload id ${id}`);
    return `${this.options.prefix}uploads/${id}`;
  }

  private keyOf(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ModelgateError('VALIDATION_FAILED', `bad digest ${digest}`);
    return `${this.options.prefix}sha256/${hex.slice(0, 2)}/${hex}`;
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
