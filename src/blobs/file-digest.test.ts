// The digest of an upload as it is written: inline for a small one, on the hash worker (reading
// back what was written) for a large one, and right even when the worker restarts half way.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WrittenFileDigest } from './file-digest.js';
import { HashWorker } from './hash-worker.js';
import { writeChecked } from './stream-writer.js';

const MiB = 1 << 20;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A real hash worker that notes each range it is fed, and can be made to stop after the first. */
class WatchedWorker extends HashWorker {
  fed: Array<[number, number]> = [];
  finished: number[] = [];
  restartAfterFirstFeed = false;
  override async feed(key: string, path: string, start: number, end: number): Promise<void> {
    this.fed.push([start, end]);
    await super.feed(key, path, start, end);
    if (this.restartAfterFirstFeed && this.fed.length === 1) await this.close();
  }
  override finish(key: string, path: string, start: number) {
    this.finished.push(start);
    return super.finish(key, path, start);
  }
}

/** The bytes in uneven chunks, as a socket delivers them. */
async function* chunked(bytes: Buffer) {
  for (let at = 0; at < bytes.length;) {
    const length = Math.min(bytes.length - at, 1 + Math.floor(Math.random() * 200_000));
    yield bytes.subarray(at, at + length);
    at += length;
  }
}

describe('WrittenFileDigest', () => {
  let dir: string;
  let worker: WatchedWorker;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'modelgate-digest-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
  afterEach(async () => { await worker.close(); });

  async function upload(bytes: Buffer, options: { maxBytes?: number; claimed?: number } = {}) {
    const path = join(dir, `${randomBytes(6).toString('hex')}.part`);
    const file = await open(path, 'wx');
    const digest = new WrittenFileDigest(worker, path);
    try {
      await writeChecked(file, chunked(bytes), {
        position: 0, maxBytes: options.maxBytes ?? bytes.length, tooLong: () => new Error('too long'), durable: false,
        checksums: { sha256: false, crc32: false }, observe: digest.observe, onWritten: digest.written,
      });
      return await digest.hex(options.claimed ?? bytes.length);
    } catch (err) {
      digest.drop();
      throw err;
    } finally {
      await file.close();
    }
  }

  it('hashes a small upload as it goes by, without the worker', async () => {
    worker = new WatchedWorker();
    for (const size of [0, 1, 5 * MiB, 8 * MiB]) {
      const bytes = randomBytes(size);
      expect(await upload(bytes)).toBe(sha(bytes));
    }
    expect(worker.fed).toEqual([]);
    expect(worker.finished).toEqual([]);
  });

  it('has the worker hash a large one from the file while it is written, then the rest', async () => {
    worker = new WatchedWorker();
    const bytes = randomBytes(40 * MiB + 123);
    expect(await upload(bytes)).toBe(sha(bytes));
    // From the first byte, in steps of at least 8 MiB that follow one another.
    expect(worker.fed.length).toBeGreaterThanOrEqual(1);
    expect(worker.fed[0]![0]).toBe(0);
    for (const [i, [start, end]] of worker.fed.entries()) {
      expect(end - start).toBeGreaterThanOrEqual(8 * MiB);
      if (i > 0) expect(start).toBe(worker.fed[i - 1]![1]);
    }
    expect(worker.finished).toEqual([worker.fed.at(-1)![1]]);
  });

  it('hashes the whole file again when the worker restarted and lost the digest so far', async () => {
    worker = new WatchedWorker();
    worker.restartAfterFirstFeed = true;
    const bytes = randomBytes(40 * MiB);
    expect(await upload(bytes)).toBe(sha(bytes));
    expect(worker.finished.at(-1)).toBe(0);
  });

  it('refuses a file that does not hold the bytes said to be written, and a digest dropped while finishing', async () => {
    worker = new WatchedWorker();
    const bytes = randomBytes(20 * MiB);
    await expect(upload(bytes, { claimed: bytes.length + 1 })).rejects.toThrow(`holds ${bytes.length} bytes, not the ${bytes.length + 1} written`);
    const path = join(dir, 'dropped.part');
    const file = await open(path, 'wx');
    const digest = new WrittenFileDigest(worker, path);
    await writeChecked(file, chunked(bytes), {
      position: 0, maxBytes: bytes.length, tooLong: () => new Error('too long'), durable: false,
      checksums: { sha256: false, crc32: false }, observe: digest.observe, onWritten: digest.written,
    });
    await file.close();
    const finishing = digest.hex(bytes.length);
    digest.drop(); // as when the fsync beside it failed
    await expect(finishing).rejects.toThrow('was dropped');
  });

  it('stops feeding the worker once the upload failed', async () => {
    worker = new WatchedWorker();
    await expect(upload(randomBytes(40 * MiB), { maxBytes: 30 * MiB })).rejects.toThrow('too long');
    const fed = worker.fed.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(worker.fed.length).toBe(fed);
    expect(worker.finished).toEqual([]);
  });
});
