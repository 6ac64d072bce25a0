// Large single uploads and session parts written past the page cache (O_DIRECT), through the
// file store as the server uses it, on the real filesystem: the bytes and digest stored are the
// ones sent whatever the chunking and size, and a refused or broken upload leaves nothing
// behind and does not spoil the next one.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, statfs, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobInfo, UploadHandle } from '../core/ports.js';
import { DirectWrites, writeDirect, writeDirectPart } from './direct-writer.js';
import { FsBlobStore } from './fs-blob-store.js';
import { HashWorker } from './hash-worker.js';

const MiB = 1 << 20;
const TMPFS_MAGIC = 0x01021994;
const claim = async (_info: BlobInfo) => {};
const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** `bytes` in chunks of `size` (an odd size: chunks straddle the writer's slabs). */
async function* chunks(bytes: Uint8Array, size = 65_531): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, Math.min(at + size, bytes.length));
}

let dir: string;
let store: FsBlobStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelgate-direct-'));
  store = new FsBlobStore(dir);
  await store.init();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const leftovers = async () => readdir(join(dir, 'tmp'));
/** Whether this filesystem takes direct writes (ext4 here; tmpfs before Linux 6.6 does not). */
const takesDirect = async () => process.platform === 'linux' && (await statfs(dir)).type !== TMPFS_MAGIC;

describe('single uploads past the page cache', () => {
  it('stores the bytes sent, at every size around the slab and block edges', async () => {
    for (const size of [8 * MiB, 8 * MiB + 1, 9 * MiB + 4095, 12 * MiB + 777, 16 * MiB]) {
      const bytes = randomBytes(size);
      const info = await store.put(chunks(bytes), { maxBytes: 1 << 30, size, claim });
      expect(info).toEqual({ digest: sha(bytes), size });
      const path = join(dir, 'sha256', info.digest.slice(7, 9), info.digest.slice(7));
      expect((await stat(path)).size).toBe(size);
      expect(sha(await readFile(path))).toBe(info.digest);
    }
    if (await takesDirect()) expect(store.puts).toEqual({ direct: 5, cached: 0 });
    else console.log(`direct-writer test: ${tmpdir()} takes no direct writes here; ${store.puts.cached} of 5 went through the page cache`);
    expect(store.puts.direct + store.puts.cached).toBe(5);
    expect(await leftovers()).toEqual([]);
  });

  it('a wrong digest, too many bytes or a broken body keep nothing, and the next upload is whole', async () => {
    const bytes = randomBytes(10 * MiB + 3);
    await expect(store.put(chunks(bytes), { expectedDigest: sha(randomBytes(4)), maxBytes: 1 << 30, size: bytes.length, claim }))
      .rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(store.put(chunks(bytes), { maxBytes: 9 * MiB, size: bytes.length, claim })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    async function* broken(): AsyncIterable<Uint8Array> {
      yield* chunks(bytes.subarray(0, 9 * MiB + 5));
      throw new Error('connection reset');
    }
    await expect(store.put(broken(), { maxBytes: 1 << 30, size: bytes.length, claim })).rejects.toThrow('connection reset');
    expect(await leftovers()).toEqual([]);
    expect(await store.stat(sha(bytes))).toBeNull();
    // The slabs the failed uploads used are clean to reuse: the same bytes store whole.
    expect(await store.put(chunks(bytes, 1 << 16), { maxBytes: 1 << 30, size: bytes.length, claim })).toEqual({ digest: sha(bytes), size: bytes.length });
  });

  it('a hash worker stopped half way never yields a wrong digest, and leaves nothing if the upload fails', async () => {
    const bytes = randomBytes(12 * MiB);
    let stopped: Promise<void> | null = null;
    async function* stopping(): AsyncIterable<Uint8Array> {
      for (let at = 0; at < bytes.length; at += MiB) {
        if (at === 5 * MiB) {
          // Time for the first slabs to be written and hashed: the digest so far is then lost
          // with the worker, and the bytes it hashed are not kept to hash again. (Stopped before
          // any was lent, a new worker simply hashes them all.)
          await new Promise((resolve) => setTimeout(resolve, 300));
          stopped = store.close();
        }
        yield bytes.subarray(at, at + MiB);
      }
    }
    const outcome = await store.put(stopping(), { maxBytes: 1 << 30, size: bytes.length, claim }).catch((err: unknown) => err);
    await stopped;
    if (outcome instanceof Error) {
      expect(await store.stat(sha(bytes))).toBeNull();
    } else {
      console.log('direct-writer test: the worker was stopped before it hashed a slab; the upload went on with a new one');
      expect(outcome).toEqual({ digest: sha(bytes), size: bytes.length });
    }
    expect(await leftovers()).toEqual([]);
    expect(await store.put(chunks(bytes), { maxBytes: 1 << 30, size: bytes.length, claim })).toEqual({ digest: sha(bytes), size: bytes.length });
  });

  it('a body shorter than declared is stored as it came', async () => {
    const bytes = randomBytes(3000);
    const info = await store.put(chunks(bytes), { maxBytes: 1 << 30, size: 9 * MiB, claim });
    expect(info).toEqual({ digest: sha(bytes), size: 3000 });
    const path = join(dir, 'sha256', info.digest.slice(7, 9), info.digest.slice(7));
    expect(await readFile(path)).toEqual(bytes);
  });

  it('writes through the page cache where direct writes are off, or refused', async () => {
    // (A filesystem that refuses them at open, as tmpfs did before Linux 6.6, takes the same path.)
    const cached = new FsBlobStore(join(dir, 'cached'), { directWrites: false });
    await cached.init();
    const bytes = randomBytes(9 * MiB + 1);
    expect(await cached.put(chunks(bytes), { maxBytes: 1 << 30, size: bytes.length, claim })).toEqual({ digest: sha(bytes), size: bytes.length });
    expect(cached.puts).toEqual({ direct: 0, cached: 1 });
    expect(await readdir(join(dir, 'cached', 'tmp'))).toEqual([]);
  });
});

describe('session parts past the page cache', () => {
  /** Sends `bytes` as a session of `partSize` parts, in `order` (part numbers), and completes it. */
  async function session(bytes: Uint8Array, partSize: number, order: (count: number) => number[]) {
    const upload: UploadHandle = { id: randomUUID(), size: bytes.length, partSize, backendRef: '' };
    await store.startUpload(upload.id, upload.size);
    const count = Math.ceil(bytes.length / partSize);
    for (const number of order(count)) {
      const part = bytes.subarray((number - 1) * partSize, Math.min(bytes.length, number * partSize));
      const stored = await store.putPart(upload, number, part.length, chunks(part), { sha256: true });
      expect(stored.sha256).toBe(sha(part).slice(7));
    }
    return store.completeUpload(upload, [], { claim, expectedDigest: sha(bytes) });
  }
  const backwards = (count: number) => Array.from({ length: count }, (_, i) => count - i);
  const forwards = (count: number) => backwards(count).reverse();

  it('stores the bytes sent, with a last part that ends off a block, in any order', async () => {
    // The last parts end 1, 4095 and 777 bytes past a block; the first session ends on one.
    for (const size of [5 * MiB, 5 * MiB + 1, 3 * MiB + 4095, 2 * MiB + 777]) {
      const bytes = randomBytes(size);
      for (const order of [forwards, backwards]) {
        const info = await session(bytes, MiB, order);
        expect(info).toEqual({ digest: sha(bytes), size });
        const path = join(dir, 'sha256', info.digest.slice(7, 9), info.digest.slice(7));
        // (Compared by digest: vitest compares 5 MiB buffers element by element, for minutes.)
        const stored = await readFile(path);
        expect(stored.length).toBe(size);
        expect(sha(stored)).toBe(sha(bytes));
        await store.delete(info.digest);
      }
    }
    if (await takesDirect()) expect(store.parts.cached).toBe(0);
    expect(store.parts.direct + store.parts.cached).toBe(2 * (5 + 6 + 4 + 3));
    expect(await leftovers()).toEqual([]);
    // Each completed session keeps only its .published marker, for a retried completion.
    const entries = await readdir(join(dir, 'uploads'));
    expect(entries.filter((name) => !name.endsWith('.published'))).toEqual([]);
  });

  it('writes parts that do not start on a block through the page cache', async () => {
    const bytes = randomBytes(3 * 65_600 + 10);
    expect(await session(bytes, 65_600, backwards)).toEqual({ digest: sha(bytes), size: bytes.length });
    expect(store.parts).toEqual({ direct: 0, cached: 4 });
  });

  it('on 64 KiB pages, writes parts off a page through the cache, and a tail off one after the direct writes', async () => {
    await store.close();
    store = new FsBlobStore(join(dir, 'big-pages'), { directBlock: 65_536 });
    await store.init();
    // 68 KiB parts start on 4 KiB blocks but not on pages: all through the cache.
    const odd = randomBytes(3 * 69_632 + 100);
    expect(await session(odd, 69_632, backwards)).toEqual({ digest: sha(odd), size: odd.length });
    expect(store.parts).toEqual({ direct: 0, cached: 4 });
    // 1 MiB parts, the last ending 4 KiB + 123 bytes past a page: its tail through the cache.
    const even = randomBytes(3 * MiB + 4096 + 123);
    for (const order of [forwards, backwards]) {
      expect(await session(even, MiB, order)).toEqual({ digest: sha(even), size: even.length });
    }
    if (await takesDirect()) expect(store.parts).toEqual({ direct: 8, cached: 4 });
    // A single upload's last slab padded to a page, and the file cut back to its size.
    const single = randomBytes(8 * MiB + 4096 + 5);
    const info = await store.put(chunks(single), { maxBytes: 1 << 30, size: single.length, claim });
    expect(info).toEqual({ digest: sha(single), size: single.length });
    const path = join(dir, 'big-pages', 'sha256', info.digest.slice(7, 9), info.digest.slice(7));
    expect((await stat(path)).size).toBe(single.length);
    expect(sha(await readFile(path))).toBe(info.digest);
    if (await takesDirect()) expect(store.puts).toEqual({ direct: 1, cached: 0 });
  });

  it('a part cut short or too long is refused, and the session completes once it is sent whole', async () => {
    const bytes = randomBytes(2 * MiB + 5000);
    const upload: UploadHandle = { id: randomUUID(), size: bytes.length, partSize: MiB, backendRef: '' };
    await store.startUpload(upload.id, upload.size);
    const part = (n: number) => bytes.subarray((n - 1) * MiB, Math.min(bytes.length, n * MiB));
    // Cut short off a block (in the middle part and the last one), and one byte too many.
    await expect(store.putPart(upload, 2, MiB, chunks(part(2).subarray(0, MiB - 3000)))).rejects.toMatchObject({ code: 'PART_SIZE_MISMATCH' });
    await expect(store.putPart(upload, 3, 5000, chunks(part(3).subarray(0, 4999)))).rejects.toMatchObject({ code: 'PART_SIZE_MISMATCH' });
    await expect(store.putPart(upload, 1, MiB, chunks(Buffer.concat([part(1), Buffer.from([1])])))).rejects.toMatchObject({ code: 'PART_SIZE_MISMATCH' });
    for (const n of [3, 1, 2]) await store.putPart(upload, n, part(n).length, chunks(part(n)));
    expect(await store.completeUpload(upload, [], { claim })).toEqual({ digest: sha(bytes), size: bytes.length });
  });

  it('writes and hashes through the page cache where direct writes are off', async () => {
    const cached = new FsBlobStore(join(dir, 'cached'), { directWrites: false });
    await cached.init();
    const bytes = randomBytes(2 * MiB + 9);
    const upload: UploadHandle = { id: randomUUID(), size: bytes.length, partSize: MiB, backendRef: '' };
    await cached.startUpload(upload.id, upload.size);
    for (const n of [1, 2, 3]) {
      const part = bytes.subarray((n - 1) * MiB, Math.min(bytes.length, n * MiB));
      await cached.putPart(upload, n, part.length, chunks(part));
    }
    expect(await cached.completeUpload(upload, [], { claim })).toEqual({ digest: sha(bytes), size: bytes.length });
    expect(cached.parts).toEqual({ direct: 0, cached: 3 });
    await cached.close();
  });
});

describe('direct writes refused', () => {
  /** Whether direct writes go through in the test's directory (some filesystems refuse them at open). */
  async function directHere(): Promise<boolean> {
    const opened = await new DirectWrites(dir).open(join(dir, 'check'), 'upload');
    await opened?.file.close();
    await rm(join(dir, 'check'), { force: true });
    if (!opened) console.log(`direct-writer test: ${tmpdir()} takes no direct writes here, so none can be refused`);
    return opened !== null;
  }

  it('a probe that fails for another reason than EINVAL sends that upload through the cache, and is tried again', async (context) => {
    if (!(await directHere())) context.skip();
    // (The probe's directory is missing: ENOENT, which says nothing of the filesystem.)
    const scratch = join(dir, 'scratch');
    const direct = new DirectWrites(scratch);
    expect(await direct.open(join(dir, 'first'), 'upload')).toBeNull();
    await mkdir(scratch);
    const opened = await direct.open(join(dir, 'second'), 'upload');
    expect(opened).not.toBeNull();
    await opened!.file.close();
  });

  /** `file`, whose writes from the `from`-th on are refused as a filesystem refusing O_DIRECT would. */
  function refusing(file: FileHandle, from: number): { handle: FileHandle; refused: () => number } {
    let writes = 0;
    let refused = 0;
    const handle = new Proxy(file, {
      get(target, key) {
        if (key === 'writev') {
          return (buffers: Uint8Array[], position: number) => {
            if (++writes < from) return target.writev(buffers, position);
            refused += 1;
            return Promise.reject(Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' }));
          };
        }
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { handle, refused: () => refused };
  }

  it('after the probe passed, a single upload and a part go on through the page cache, whole', async (context) => {
    if (!(await directHere())) context.skip();
    const direct = new DirectWrites(dir);
    const hasher = new HashWorker();
    try {
      // A single upload of 13 slabs: from its 4th on, direct writes are refused; its last is padded.
      const bytes = randomBytes(12 * MiB + 777);
      const path = join(dir, 'upload');
      const opened = (await direct.open(path, 'upload'))!;
      const { handle, refused } = refusing(opened.file, 4);
      const tooLong = () => new Error('too long');
      const written = await writeDirect({ ...opened, file: handle }, chunks(bytes), { maxBytes: 1 << 30, tooLong, hasher });
      await opened.file.sync();
      await opened.file.close();
      direct.release(opened.slabs);
      // (Those already under way when the first came back refused too; none after them was tried.)
      expect(refused()).toBeGreaterThan(0);
      expect(refused()).toBeLessThanOrEqual(8);
      expect(written).toEqual({ size: bytes.length, hex: sha(bytes).slice(7) });
      expect(sha(await readFile(path))).toBe(sha(bytes));

      // A session's second part, written into a file that holds the first: every write refused.
      const session = join(dir, 'session');
      const first = randomBytes(2 * MiB);
      const second = randomBytes(2 * MiB);
      await writeFile(session, first);
      const part = (await direct.open(session, 'part'))!;
      const refusingPart = refusing(part.file, 1);
      const stored = await writeDirectPart({ ...part, file: refusingPart.handle }, chunks(second), {
        position: 2 * MiB, maxBytes: 2 * MiB, tooLong, checksums: { sha256: true, crc32: false }, mayWrite: () => {}, cached: null,
      });
      await part.file.datasync();
      await part.file.close();
      direct.release(part.slabs);
      expect(refusingPart.refused()).toBeGreaterThan(0);
      expect(stored.hash?.digest('hex')).toBe(sha(second).slice(7));
      expect(sha(await readFile(session))).toBe(sha(Buffer.concat([first, second])));

      // The session's last part, ending 777 bytes past a block: refused too, with its tail
      // written through the caller's cached handle after the rest.
      const third = randomBytes(MiB + 777);
      const last = (await direct.open(session, 'part'))!;
      const cached = await open(session, 'r+');
      const refusingLast = refusing(last.file, 1);
      try {
        await writeDirectPart({ ...last, file: refusingLast.handle }, chunks(third), {
          position: 4 * MiB, maxBytes: third.length, tooLong, checksums: { sha256: false, crc32: false }, mayWrite: () => {}, cached,
        });
        await last.file.datasync();
      } finally {
        await cached.close();
        await last.file.close();
        direct.release(last.slabs);
      }
      expect(refusingLast.refused()).toBeGreaterThan(0);
      expect(sha(await readFile(session))).toBe(sha(Buffer.concat([first, second, third])));
    } finally {
      await hasher.close();
    }
  });
});
