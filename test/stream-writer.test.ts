// The stream writer every stored byte goes through: what it writes, what it checks, and that a
// file meant to be durable is written back while the bytes arrive, with a failed write-back
// failing the upload rather than being lost.
import { createHash, randomBytes } from 'node:crypto';
import { readSync } from 'node:fs';
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
 * and the writes and syncs under way counted. `slowWrites` delays each write by up to 20 ms,
 * so that writes under way together end in any order.
 */
function watched(file: FileHandle, failing?: Error, slowWrites = false) {
  const syncs: number[] = [];
  const busy = { writes: 0, syncs: 0, mostSyncs: 0, mostWrites: 0 };
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
          busy.mostWrites = Math.max(busy.mostWrites, busy.writes);
          try {
            if (slowWrites) await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
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

  it('keeps up to four writes under way, and reports the bytes written in order as they are', async () => {
    const bytes = randomBytes(24 * MiB + 5);
    const path = join(dir, 'blob');
    const file = await open(path, 'w+');
    const { handle, busy } = watched(file, undefined, true);
    const ends: number[] = [];
    const check = Buffer.alloc(4096);
    await writeChecked(handle, chunked(bytes), {
      position: 0, maxBytes: bytes.length, tooLong: () => new Error('too long'), checksums: { sha256: false, crc32: false }, durable: false,
      onWritten: (end) => {
        ends.push(end);
        // Whatever is reported written is in the file (its last bytes are read back here).
        const { bytesRead } = readSync(file.fd, check, 0, check.length, end - check.length);
        expect(check.subarray(0, bytesRead).equals(bytes.subarray(end - check.length, end))).toBe(true);
      },
    });
    await file.close();
    expect(busy.mostWrites).toBe(4);
    expect(ends.at(-1)).toBe(bytes.length);
    for (let i = 1; i < ends.length; i++) expect(ends[i]).toBeGreaterThan(ends[i - 1]!);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it('fails on a write that fails with others under way, and leaves none of them writing', async () => {
    const bytes = randomBytes(24 * MiB);
    const file = await open(join(dir, 'blob'), 'w');
    const { handle, busy } = watched(file, undefined, true);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    let writes = 0;
    let failedAt = Infinity;
    const failing = new Proxy(handle, {
      get(target, key) {
        if (key !== 'writev') return Reflect.get(target, key, target) as unknown;
        return (...args: Parameters<FileHandle['writev']>) => {
          if (++writes !== 6) return target.writev(...args);
          failedAt = args[1]!;
          return Promise.reject(enospc);
        };
      },
    });
    const ends: number[] = [];
    await expect(writeChecked(failing, chunked(bytes), {
      position: 0, maxBytes: bytes.length, tooLong: () => new Error('too long'), checksums: { sha256: true, crc32: false }, durable: true,
      onWritten: (end) => ends.push(end),
    })).rejects.toBe(enospc);
    expect(busy.writes).toBe(0);
    // Nothing past the failed write is reported written.
    expect(failedAt).toBeGreaterThanOrEqual(5 * MiB);
    for (const end of ends) expect(end).toBeLessThanOrEqual(failedAt);
    await file.close();
  });

  it.each([
    ['the last write', 24],
    ['the one before the last', 23],
  ])('fails when %s fails, once nothing is writing or syncing any more', async (_, failing) => {
    const bytes = randomBytes(24 * MiB);
    const file = await open(join(dir, 'blob'), 'w');
    const { handle, busy } = watched(file, undefined, true);
    const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    let writes = 0;
    const breaking = new Proxy(handle, {
      get(target, key) {
        if (key !== 'writev') return Reflect.get(target, key, target) as unknown;
        return (...args: Parameters<FileHandle['writev']>) => (++writes === failing ? Promise.reject(eio) : target.writev(...args));
      },
    });
    // Whole 1 MiB chunks: exactly 24 writes.
    const whole = (async function* () { for (let at = 0; at < bytes.length; at += MiB) yield bytes.subarray(at, at + MiB); })();
    await expect(writeChecked(breaking, whole, {
      position: 0, maxBytes: bytes.length, tooLong: () => new Error('too long'), checksums: { sha256: false, crc32: false }, durable: true,
    })).rejects.toBe(eio);
    // (A failed write stops the writes after it as soon as it is seen.)
    expect(writes).toBeGreaterThanOrEqual(failing);
    expect(busy).toMatchObject({ writes: 0, syncs: 0 });
    await file.close();
  });

  it('fails, rather than crash, when the onWritten callback throws', async () => {
    const file = await open(join(dir, 'blob'), 'w');
    const { handle, busy } = watched(file);
    const broken = new Error('the hash worker could not start');
    await expect(writeChecked(handle, chunked(randomBytes(6 * MiB)), {
      position: 0, maxBytes: 6 * MiB, tooLong: () => new Error('too long'), checksums: { sha256: false, crc32: false }, durable: false,
      onWritten: (end) => { if (end > 2 * MiB) throw broken; },
    })).rejects.toBe(broken);
    expect(busy.writes).toBe(0);
    await file.close();
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
    // (None begins with the last write: the caller's fsync follows it.)
    ['the end of the write waits for it (begun by the write before the last)', 33],
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

describe('writeChecked: when a durable write is written back', () => {
  async function* inChunks(bytes: Buffer, size: number) {
    for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
  }

  /**
   * Writes `bytes` durably; returns how many bytes had been written when each write-back
   * started. The write-backs are only noted (each done at once), so when they start depends
   * on the bytes alone, not on how fast this disk is.
   */
  async function writeBacks(bytes: Buffer, options: { maxBytes?: number; expectedBytes?: number }): Promise<number[]> {
    const path = join(dir, randomBytes(6).toString('hex'));
    const file = await open(path, 'wx');
    const started: number[] = [];
    let writtenSoFar = 0;
    file.datasync = async () => { started.push(writtenSoFar); };
    try {
      await writeChecked(file, inChunks(bytes, 256 * 1024), {
        position: 0, maxBytes: options.maxBytes ?? bytes.length, expectedBytes: options.expectedBytes, tooLong: () => new Error('too long'),
        durable: true, checksums: { sha256: false, crc32: false }, onWritten: (end) => { writtenSoFar = end; },
      });
    } finally {
      await file.close();
    }
    expect(Buffer.compare(await readFile(path), bytes)).toBe(0);
    return started;
  }

  it('writes a part back from half way, and leaves its last bytes to the closing fsync', async () => {
    expect(await writeBacks(randomBytes(16 * MiB), { expectedBytes: 16 * MiB })).toEqual([8 * MiB]);
    expect(await writeBacks(randomBytes(32 * MiB), { expectedBytes: 32 * MiB })).toEqual([16 * MiB]);
  });

  it('writes an upload of unknown size back every 32 MiB, whatever its size limit', async () => {
    expect(await writeBacks(randomBytes(100 * MiB), { maxBytes: 5 * 1024 * MiB })).toEqual([32 * MiB, 64 * MiB, 96 * MiB]);
  });

  it('does not write back a part of less than 8 MiB, whose closing fsync is short anyway', async () => {
    expect(await writeBacks(randomBytes(7 * MiB), { expectedBytes: 7 * MiB })).toEqual([]);
  });
});
