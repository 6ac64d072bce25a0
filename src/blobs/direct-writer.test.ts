// Large single uploads written past the page cache (O_DIRECT) and hashed from memory, through
// the file store as the server uses it, on the real filesystem: the bytes and digest stored
// are the ones sent whatever the chunking and size, and a refused or broken upload leaves
// nothing behind and does not spoil the next one.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobInfo } from '../core/ports.js';
import { FsBlobStore } from './fs-blob-store.js';

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
    // Written directly wherever Linux's filesystem takes direct writes (ext4 here; tmpfs before Linux 6.6 does not).
    const tmpfs = (await statfs(dir)).type === TMPFS_MAGIC;
    if (process.platform === 'linux' && !tmpfs) expect(store.puts).toEqual({ direct: 5, cached: 0 });
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
