// The stream writer every stored byte goes through: what it writes, what it checks, and that a
// file meant to be durable is written back while the bytes arrive, with a failed write-back
// failing the upload rather than being lost.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeChecked } from '../src/blobs/stream-writer.js';

const MiB = 1 << 20;
let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'modelgate-writer-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

/** The bytes in uneven chunks, as a socket delivers them; `sent()` says how many so far. */
function chunked(bytes: Buffer) {
  let at = 0;
  return {
    sent: () => at,
    async *[Symbol.asyncIterator]() {
      while (at < bytes.length) {
        const length = Math.min(bytes.length - at, 1 + Math.floor(Math.random() * 200_000));
        const chunk = bytes.subarray(at, at + length);
        at += length;
        yield chunk;
      }
    },
  };
}

/**
 * The real file handle, with each datasync noted (how many bytes had arrived) or made to fail,
 * and the writes and syncs under way counted.
 */
function watched(file: FileHandle, failing?: Error) {
  const syncs: number[] = [];
  const busy = { writes: 0, syncs: 0, mostSyncs: 0 };
  let arrived = () => 0;
  const handle = new Proxy(file, {
    get(target, key) {
      if (key === 'datasync') {
        return async () => {
          syncs.push(arrived());
          busy.syncs += 1;
          busy.mostSyncs = Math.max(busy.mostSyncs, busy.syncs);
          try {
            await target.datasync();
            if (failing) throw failing;
          } finally {
            busy.syncs -= 1;
          }
        };
      }
      if (key === 'writev') {
        return async (...args: Parameters<FileHandle['writev']>) => {
          busy.writes += 1;
          try {
            return await target.writev(...args);
          } finally {
            busy.writes -= 1;
          }
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { handle, syncs, busy, track: (sent: () => number) => { arrived = sent; } };
}

describe('writeChecked', () => {
  it('writes a durable file back to disk while the bytes arrive, and writes them exactly', async () => {
    const bytes = randomBytes(80 * MiB);
    const path = join(dir, 'blob');
    const file = await open(path, 'w');
    const body = chunked(bytes);
    const { handle, syncs, busy, track } = watched(file);
    track(body.sent);
    const written = await writeChecked(handle, body, {
      position: 0, maxBytes: bytes.length, tooLong: () => new Error('too long'), checksums: { sha256: true, crc32: true }, durable: true,
    });
    await file.close();
    expect(written.size).toBe(bytes.length);
    expect(written.hash!.digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(written.crc32).toBe((crc32(bytes) >>> 0).toString(16).padStart(8, '0'));
    expect((await readFile(path)).equals(bytes)).toBe(true);
    // Every 32 MiB at most, one at a time, and all of them before the last byte arrived.
    expect(syncs.length).toBeGreaterThanOrEqual(1);
    expect(syncs.length).toBeLessThanOrEqual(2);
    expect(busy.mostSyncs).toBe(1);
    for (const at of syncs) expect(at).toBeLessThan(bytes.length);
  });

  it('leaves a file that will not be fsynced alone (the S3 store spool)', async () => {
    const bytes = randomBytes(40 * MiB);
    const file = await open(join(dir, 'spool'), 'w');
    const { handle, syncs } = watched(file);
    await writeChecked(handle, chunked(bytes), {
      position: 0, maxBytes: bytes.length, tooLong: () => new Error('too long'), checksums: { sha256: false, crc32: true }, durable: false,
    });
    await file.close();
    expect(syncs).toEqual([]);
  });

  it.each([
    ['a later write notices it', 48],
    ['the end of the write waits for it (begun by the last write)', 32],
  ])('fails the write when a write-back fails: %s', async (_, mib) => {
    const bytes = randomBytes(mib * MiB);
    const file = await open(join(dir, 'blob'), 'w');
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const { handle, syncs } = watched(file, eio);
    const writing = writeChecked(handle, chunked(bytes), {
      position: 0, maxBytes: bytes.length, tooLong: () => new Error('too long'), checksums: { sha256: true, crc32: false }, durable: true,
    });
    await expect(writing).rejects.toBe(eio);
    await file.close();
    expect(syncs.length).toBe(1);
  });

  it('leaves nothing writing to the file once a body that broke off has failed it', async () => {
    const file = await open(join(dir, 'blob'), 'w');
    const { handle, busy } = watched(file);
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const broken = (async function* () {
      for (let i = 0; i < 40; i++) yield randomBytes(MiB);
      throw reset;
    })();
    const writing = writeChecked(handle, broken, {
      position: 0, maxBytes: 100 * MiB, tooLong: () => new Error('too long'), checksums: { sha256: true, crc32: false }, durable: true,
    });
    await expect(writing).rejects.toBe(reset);
    expect(busy).toMatchObject({ writes: 0, syncs: 0 });
    await file.close();
  });

  it('stops at the first byte past the limit, after any write-back under way', async () => {
    const bytes = randomBytes(40 * MiB);
    const file = await open(join(dir, 'blob'), 'w');
    const { handle, syncs } = watched(file);
    const writing = writeChecked(handle, chunked(bytes), {
      position: 0, maxBytes: 36 * MiB, tooLong: () => new Error('too long'), checksums: { sha256: true, crc32: false }, durable: true,
    });
    await expect(writing).rejects.toThrow('too long');
    await file.close();
    expect(syncs.length).toBe(1);
  });
});
