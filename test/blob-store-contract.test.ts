/**
 * One contract for every BlobStore backend: the local directory and S3 (against s3rver on
 * loopback). Whatever the backend, a blob is claimed before it is visible, never visible
 * partial or wrong, and an upload session assembles exactly its parts.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../src/blobs/fs-blob-store.js';
import { S3BlobStore } from '../src/blobs/s3-blob-store.js';
import type { BlobInfo, BlobStore, UploadHandle } from '../src/core/ports.js';
import { startS3, type TestS3 } from './helpers/s3.js';

const digest = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** CRC-32 (IEEE, reflected, as zlib and S3 compute it), bit by bit: a reference independent of the stores' zlib. */
function crc32Hex(bytes: Uint8Array): string {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}
async function* chunks(bytes: Uint8Array, size = 64 * 1024): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
async function collect(stream: AsyncIterable<Uint8Array> | null): Promise<Buffer> {
  if (!stream) throw new Error('no stream');
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

interface Backend {
  name: string;
  make(): Promise<{ store: BlobStore & { cleanTemp(before: Date): Promise<{ files: number; bytes: number }> }; tempDir: string; close(): Promise<void> }>;
}

let s3: TestS3;
const backends: Backend[] = [
  {
    name: 'local directory',
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'modelgate-fs-'));
      const store = new FsBlobStore(dir);
      await store.init();
      return { store, tempDir: join(dir, 'tmp'), close: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3 (s3rver)',
    make: async () => {
      const spool = await mkdtemp(join(tmpdir(), 'modelgate-spool-'));
      const store = new S3BlobStore({ bucket: s3.bucket, prefix: `contract-${randomUUID().slice(0, 8)}/`, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, presignSeconds: 0, spoolDir: spool });
      await store.init();
      return { store, tempDir: spool, close: () => rm(spool, { recursive: true, force: true }) };
    },
  },
];

beforeAll(async () => { s3 = await startS3(); });
afterAll(async () => s3?.close());

describe.each(backends)('BlobStore contract: $name', (backend) => {
  let store: Awaited<ReturnType<Backend['make']>>['store'];
  let tempDir: string;
  let close: () => Promise<void>;
  const claimed: BlobInfo[] = [];
  const claim = async (info: BlobInfo) => {
    // Claimed before visible: at this moment a new blob cannot be read yet.
    if (!claimed.some((c) => c.digest === info.digest)) expect(await store.stat(info.digest)).toBeNull();
    claimed.push(info);
  };

  beforeAll(async () => ({ store, tempDir, close } = await backend.make()));
  afterAll(async () => close?.());

  it('stores bytes under their sha256, claims them first, and reads them whole or by range', async () => {
    const bytes = randomBytes(300 * 1024);
    const info = await store.put(chunks(bytes), { maxBytes: 1 << 30, claim });
    expect(info).toEqual({ digest: digest(bytes), size: bytes.length });
    expect(claimed.at(-1)).toEqual(info);
    expect(await store.stat(info.digest)).toEqual(info);
    expect((await collect(await store.read(info.digest))).equals(bytes)).toBe(true);
    expect((await collect(await store.read(info.digest, { start: 10, end: 19 }))).equals(bytes.subarray(10, 20))).toBe(true);
    // The same bytes again: same digest, still one blob.
    expect(await store.put(chunks(bytes), { maxBytes: 1 << 30, claim })).toEqual(info);
    const listed = [];
    for await (const b of store.list()) listed.push(b.digest);
    expect(listed).toContain(info.digest);
  });

  it('keeps nothing when the digest is wrong or the bytes are too many', async () => {
    const bytes = randomBytes(1000);
    const before = claimed.length;
    await expect(store.put(chunks(bytes), { expectedDigest: digest(randomBytes(4)), maxBytes: 1 << 30, claim })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(store.put(chunks(bytes, 100), { maxBytes: 500, claim })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(claimed.length).toBe(before);
    expect(await store.stat(digest(bytes))).toBeNull();
    expect(await store.read(digest(bytes))).toBeNull();
  });

  it('deletes, idempotently', async () => {
    const info = await store.put(chunks(randomBytes(100)), { maxBytes: 1 << 30, claim });
    await store.delete(info.digest);
    await store.delete(info.digest);
    expect(await store.stat(info.digest)).toBeNull();
  });

  it('assembles a session from parts sent in any order, and checks the whole digest', async () => {
    const partSize = store.minPartSize;
    const bytes = randomBytes(2 * partSize + 1000);
    const id = randomUUID();
    const upload: UploadHandle = { id, size: bytes.length, partSize, backendRef: await store.startUpload(id, bytes.length, partSize) };
    const sizes = [partSize, partSize, 1000];
    const stored = await Promise.all([3, 1, 2].map(async (n) => ({ n, part: await store.putPart(upload, n, sizes[n - 1]!, chunks(bytes.subarray((n - 1) * partSize, (n - 1) * partSize + sizes[n - 1]!))) })));
    for (const { n, part } of stored) {
      expect(part.size).toBe(sizes[n - 1]);
      expect(part.sha256).toBe(digest(bytes.subarray((n - 1) * partSize, (n - 1) * partSize + sizes[n - 1]!)).slice(7));
    }
    // A part of the wrong length is refused.
    await expect(store.putPart(upload, 3, 1000, chunks(randomBytes(999)))).rejects.toMatchObject({ code: 'PART_SIZE_MISMATCH' });
    await store.putPart(upload, 3, 1000, chunks(bytes.subarray(2 * partSize)));
    const parts = stored.map(({ n, part }) => ({ number: n, etag: part.etag })).sort((a, b) => a.number - b.number);
    const info = await store.completeUpload(upload, n3(parts, await store.putPart(upload, 3, 1000, chunks(bytes.subarray(2 * partSize)))), { expectedDigest: digest(bytes), claim });
    expect(info).toEqual({ digest: digest(bytes), size: bytes.length });
    expect((await collect(await store.read(info.digest))).equals(bytes)).toBe(true);
  });

  it('computes each part\'s CRC-32, and its sha256 unless told not to; the whole digest is checked either way', async () => {
    expect(crc32Hex(Buffer.from('123456789'))).toBe('cbf43926'); // the reference's own check value
    const partSize = store.minPartSize;
    const bytes = randomBytes(partSize + 333);
    const id = randomUUID();
    const upload: UploadHandle = { id, size: bytes.length, partSize, backendRef: await store.startUpload(id, bytes.length, partSize) };
    const first = await store.putPart(upload, 1, partSize, chunks(bytes.subarray(0, partSize)), { sha256: false });
    expect(first).toMatchObject({ size: partSize, sha256: null, crc32: crc32Hex(bytes.subarray(0, partSize)) });
    const second = await store.putPart(upload, 2, 333, chunks(bytes.subarray(partSize)));
    expect(second).toMatchObject({ sha256: digest(bytes.subarray(partSize)).slice(7), crc32: crc32Hex(bytes.subarray(partSize)) });
    const parts = [{ number: 1, etag: first.etag }, { number: 2, etag: second.etag }];
    const wrong = digest(Buffer.concat([bytes.subarray(0, partSize), randomBytes(333)]));
    await expect(store.completeUpload(upload, parts, { expectedDigest: wrong, claim })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await store.stat(digest(bytes))).toBeNull();
    await store.abortUpload(upload);
    // The same bytes, their parts checked by CRC-32 alone, and the right digest: published.
    const again = randomUUID();
    const good: UploadHandle = { id: again, size: bytes.length, partSize, backendRef: await store.startUpload(again, bytes.length, partSize) };
    const sent = [];
    for (const [n, slice] of [[1, bytes.subarray(0, partSize)], [2, bytes.subarray(partSize)]] as const) {
      sent.push({ number: n, etag: (await store.putPart(good, n, slice.length, chunks(slice), { sha256: false })).etag });
    }
    expect(await store.completeUpload(good, sent, { expectedDigest: digest(bytes), claim })).toEqual({ digest: digest(bytes), size: bytes.length });
  });

  it('refuses to publish a session whose bytes do not match the declared digest', async () => {
    const bytes = randomBytes(1000);
    const id = randomUUID();
    const upload: UploadHandle = { id, size: bytes.length, partSize: store.minPartSize, backendRef: await store.startUpload(id, bytes.length, store.minPartSize) };
    const part = await store.putPart(upload, 1, 1000, chunks(bytes));
    await expect(store.completeUpload(upload, [{ number: 1, etag: part.etag }], { expectedDigest: digest(randomBytes(3)), claim })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await store.stat(digest(bytes))).toBeNull();
    await store.abortUpload(upload);
    await store.abortUpload(upload);
  });

  it('cleans temporary files older than a moment, and only those', async () => {
    const old = join(tempDir, 'old.part');
    const fresh = join(tempDir, 'fresh.part');
    await writeFile(old, 'x');
    await writeFile(fresh, 'y');
    await utimes(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const cleaned = await store.cleanTemp(new Date(Date.now() - 60_000));
    expect(cleaned.files).toBeGreaterThanOrEqual(1);
    const left = await readdir(tempDir);
    expect(left).toContain('fresh.part');
    expect(left).not.toContain('old.part');
  });
});

/** The parts list with part 3's latest tag (S3 keeps the last upload of a part number). */
function n3(parts: Array<{ number: number; etag: string }>, latest: { etag: string }) {
  return parts.map((p) => (p.number === 3 ? { number: 3, etag: latest.etag } : p));
}

describe('local directory: a session file becomes the blob in place', () => {
  let dir: string;
  let store: FsBlobStore;
  const claim = async () => {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-fs-inplace-'));
    // Short leases, so a dead writer is given up on within the test.
    store = new FsBlobStore(dir, { leaseMs: 1_000 });
    await store.init();
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  /** Waits until this store has hashed `bytes` of the session ahead. */
  async function caughtUp(upload: UploadHandle, bytes: number): Promise<void> {
    for (let waited = 0; store.hashedAhead(upload.id) < bytes; waited += 10) {
      if (waited > 10_000) throw new Error(`hashed ahead ${store.hashedAhead(upload.id)} of ${bytes} bytes`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function session(bytes: Uint8Array, partSize = store.minPartSize): Promise<UploadHandle> {
    const id = randomUUID();
    return { id, size: bytes.length, partSize, backendRef: await store.startUpload(id, bytes.length, partSize) };
  }

  it('waits for a part still being written, then refuses parts sent after completion began', async () => {
    const partSize = store.minPartSize;
    const bytes = randomBytes(2 * partSize);
    const upload = await session(bytes);
    await store.putPart(upload, 1, partSize, chunks(bytes.subarray(0, partSize)));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let reading!: () => void;
    const writerHasFile = new Promise<void>((resolve) => { reading = resolve; });
    async function* slow() {
      yield bytes.subarray(partSize, partSize + 1000);
      reading(); // the writer asks for more: it has the session file open
      await gate;
      yield bytes.subarray(partSize + 1000);
    }
    const writing = store.putPart(upload, 2, partSize, slow());
    await writerHasFile;
    let done = false;
    const completing = store.completeUpload(upload, [], { claim }).finally(() => { done = true; });
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false);
    await expect(store.putPart(upload, 1, partSize, chunks(bytes.subarray(0, partSize)))).rejects.toMatchObject({ code: 'UPLOAD_NOT_OPEN', details: { status: 'completing' } });
    release();
    await writing;
    expect(await completing).toEqual({ digest: digest(bytes), size: bytes.length });
    expect((await collect(await store.read(digest(bytes)))).equals(bytes)).toBe(true);
    // Asked again (its answer was lost), completion names the same blob.
    expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: digest(bytes), size: bytes.length });
  });

  it('hashes the whole digest ahead as parts land in order, so completion reads only what is left', async () => {
    const partSize = store.minPartSize;
    const bytes = randomBytes(4 * partSize);
    const upload = await session(bytes);
    const before = { ...store.hashed };
    for (const n of [2, 1, 4, 3]) await store.putPart(upload, n, partSize, chunks(bytes.subarray((n - 1) * partSize, n * partSize)));
    await caughtUp(upload, bytes.length);
    expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: digest(bytes), size: bytes.length });
    expect(store.hashed.ahead - before.ahead).toBe(bytes.length);
    expect(store.hashed.atCompletion - before.atCompletion).toBe(0);
  });

  it('hashes it all at completion when the hashing worker lost what it had hashed ahead', async () => {
    const partSize = store.minPartSize;
    const bytes = randomBytes(3 * partSize);
    const upload = await session(bytes);
    for (const n of [1, 2]) await store.putPart(upload, n, partSize, chunks(bytes.subarray((n - 1) * partSize, n * partSize)));
    await caughtUp(upload, 2 * partSize);
    // The worker stops (as after a crash, or a quiet minute): the digest it held is gone.
    await (store as unknown as { ahead: { hasher: { close(): Promise<void> } } }).ahead.hasher.close();
    await store.putPart(upload, 3, partSize, chunks(bytes.subarray(2 * partSize)));
    const before = { ...store.hashed };
    expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: digest(bytes), size: bytes.length });
    expect(store.hashed.atCompletion - before.atCompletion).toBe(bytes.length);
  });

  it('hashes from the file a part written again after it was hashed ahead, here or by another server', async () => {
    const other = new FsBlobStore(dir, { leaseMs: 1_000 }); // a second server on the same directory
    const partSize = store.minPartSize;
    for (const rewriter of [store, other]) {
      const bytes = randomBytes(3 * partSize);
      const upload = await session(bytes);
      for (const n of [1, 2, 3]) await store.putPart(upload, n, partSize, chunks(bytes.subarray((n - 1) * partSize, n * partSize)));
      await caughtUp(upload, bytes.length);
      const again = randomBytes(partSize);
      await rewriter.putPart(upload, 2, partSize, chunks(again));
      again.copy(bytes, partSize);
      expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: digest(bytes), size: bytes.length });
      expect((await collect(await store.read(digest(bytes)))).equals(bytes)).toBe(true);
    }
  });

  it('completes a session started before the write log, hashing it whole', async () => {
    const partSize = store.minPartSize;
    const bytes = randomBytes(2 * partSize);
    const upload = await session(bytes);
    // An older server's session file; it keeps no log, so nothing of it is hashed ahead.
    await rename(join(dir, 'uploads', `${upload.id}.parts`), join(dir, 'uploads', `${upload.id}.data`));
    const before = { ...store.hashed };
    for (const n of [1, 2]) await store.putPart(upload, n, partSize, chunks(bytes.subarray((n - 1) * partSize, n * partSize)));
    expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: digest(bytes), size: bytes.length });
    expect(store.hashed.atCompletion - before.atCompletion).toBe(bytes.length);
    expect((await readdir(join(dir, 'uploads'))).filter((n) => n.startsWith(upload.id))).toEqual([`${upload.id}.published`]);
  });

  it('whatever order, server, rewrites and failures the parts saw, the digest names the bytes stored', async () => {
    const other = new FsBlobStore(dir, { leaseMs: 1_000 });
    const partSize = store.minPartSize;
    const write = fc.record({ part: fc.integer({ min: 1, max: 4 }), byOther: fc.boolean(), fails: fc.boolean(), seed: fc.integer({ min: 0, max: 255 }), pause: fc.integer({ min: 0, max: 3 }) });
    await fc.assert(fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 12 }), fc.boolean(), async (writes, completeByOther) => {
      const size = 4 * partSize - 1000;
      const upload = await session(new Uint8Array(size), partSize);
      const expected = Buffer.alloc(size);
      const sent = new Set<number>();
      const pending: Promise<unknown>[] = [];
      for (const w of writes) {
        const length = w.part < 4 ? partSize : size - 3 * partSize;
        const body = Buffer.alloc(length, w.seed);
        const writer = w.byOther ? other : store;
        // A failed write stops half-way (its connection dropped): its part stays unrecorded until sent again.
        const stream = w.fails ? chunks(body.subarray(0, length >> 1)) : chunks(body);
        const done = writer.putPart(upload, w.part, length, stream).then(() => {
          body.copy(expected, (w.part - 1) * partSize);
          sent.add(w.part);
        }, () => sent.delete(w.part));
        if (w.pause > 0) await done; // otherwise the next write overlaps this one
        else pending.push(done);
        if (w.pause > 1) await new Promise((r) => setTimeout(r, 5 * w.pause));
      }
      await Promise.all(pending);
      const completer = completeByOther ? other : store;
      const info = await completer.completeUpload(upload, [], { claim });
      const stored = await collect(await store.read(info.digest));
      expect(info).toEqual({ digest: digest(stored), size });
      // With every part sent whole, sequentially, the blob is exactly what was sent last.
      if (sent.size === 4 && writes.every((w) => !w.fails && w.pause > 0)) expect(stored.equals(expected)).toBe(true);
    }), { numRuns: 40 });
  });

  it('stops a part writer that stalled past its lease, for good', async () => {
    const bytes = randomBytes(store.minPartSize);
    const upload = await session(bytes);
    async function* stalling() {
      yield bytes.subarray(0, 1000);
      // The event loop blocked past the lease's fence (half of 1 s): no renewal could run.
      const until = performance.now() + 700;
      while (performance.now() < until) { /* stalled */ }
      yield bytes.subarray(1000);
    }
    await expect(store.putPart(upload, 1, bytes.length, stalling())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Sent again, the part goes through.
    expect((await store.putPart(upload, 1, bytes.length, chunks(bytes))).size).toBe(bytes.length);
    expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: digest(bytes), size: bytes.length });
  });

  it('does not wait for a writer that died, and finishes a completion that crashed half-way', async () => {
    const bytes = randomBytes(store.minPartSize);
    const upload = await session(bytes);
    await store.putPart(upload, 1, bytes.length, chunks(bytes));
    // A lease its writer will never renew (its process died).
    const lease = join(dir, 'uploads', `${upload.id}.writers`, 'dead-writer');
    await mkdir(join(lease, '..'), { recursive: true });
    await writeFile(lease, '');
    // The completion before this one crashed after taking the file.
    await rename(join(dir, 'uploads', `${upload.id}.parts`), join(dir, 'uploads', `${upload.id}.completing`));
    expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: digest(bytes), size: bytes.length });
    // Nothing of the session is left but the note of where it went, which abort (or collection) removes.
    const left = () => readdir(join(dir, 'uploads'));
    expect((await left()).filter((n) => n.startsWith(upload.id))).toEqual([`${upload.id}.published`]);
    await store.abortUpload(upload);
    expect((await left()).filter((n) => n.startsWith(upload.id))).toEqual([]);
    expect(await store.stat(digest(bytes))).toEqual({ digest: digest(bytes), size: bytes.length });
  });
});
