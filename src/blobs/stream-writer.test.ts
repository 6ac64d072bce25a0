// When a durable write writes its bytes back to disk on the way: often enough that the
// caller's closing fsync has at most half of a part left, and never right before that fsync.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeChecked } from './stream-writer.js';

const MiB = 1 << 20;

async function* inChunks(bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe('writeChecked write-back', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'modelgate-writeback-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  /** Writes `bytes` durably; returns how many bytes had been written when each write-back started. */
  async function writeBacks(bytes: Buffer, maxBytes = bytes.length): Promise<number[]> {
    const path = join(dir, randomBytes(6).toString('hex'));
    const file = await open(path, 'wx');
    const started: number[] = [];
    let writtenSoFar = 0;
    const datasync = file.datasync.bind(file);
    file.datasync = async () => { started.push(writtenSoFar); return datasync(); };
    try {
      await writeChecked(file, inChunks(bytes, 256 * 1024), {
        position: 0, maxBytes, tooLong: () => new Error('too long'), durable: true,
        checksums: { sha256: false, crc32: false }, onWritten: (end) => { writtenSoFar = end; },
      });
    } finally {
      await file.close();
    }
    expect(Buffer.compare(await readFile(path), bytes)).toBe(0);
    return started;
  }

  it('writes a 16 MiB part back from half way, and leaves its last bytes to the closing fsync', async () => {
    const started = await writeBacks(randomBytes(16 * MiB));
    expect(started.length).toBe(1);
    expect(started[0]).toBeGreaterThanOrEqual(8 * MiB);
    expect(started[0]).toBeLessThan(16 * MiB);
  });

  it('writes a large upload back every 32 MiB, whatever the size limit', async () => {
    const started = await writeBacks(randomBytes(100 * MiB), 5 * 1024 * MiB);
    // (At 32 and 64 MiB, and at 96 unless the last one is still running then.)
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(started.length).toBeLessThanOrEqual(3);
    expect(started[0]).toBeGreaterThanOrEqual(32 * MiB);
    expect(started[0]).toBeLessThan(64 * MiB);
  });

  it('does not write back a small part, whose closing fsync is short anyway', async () => {
    expect(await writeBacks(randomBytes(4 * MiB))).toEqual([]);
  });
});
