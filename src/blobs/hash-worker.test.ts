import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashWorker } from './hash-worker.js';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('HashWorker', () => {
  let dir: string;
  let path: string;
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  const worker = new HashWorker();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelgate-hash-'));
    path = join(dir, 'file');
    await writeFile(path, bytes);
  });
  afterAll(async () => {
    await worker.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds a digest in steps, and finishes it with the rest of the file', async () => {
    await worker.feed('a', path, 0, 1_000_000);
    await worker.feed('a', path, 1_000_000, 2_500_000);
    expect(await worker.finish('a', path, 2_500_000)).toEqual({ digest: sha(bytes), bytes: bytes.length - 2_500_000 });
    expect(await worker.finish('fresh', path, 0)).toEqual({ digest: sha(bytes), bytes: bytes.length });
  });

  it('reads past the page cache to the same digest, from and to any byte', async () => {
    // Starts and ends off the 4 KiB block and across the 2 MiB reads; the same file read through the cache agrees.
    await worker.feed('direct', path, 0, 4097, true);
    await worker.feed('direct', path, 4097, 2 * 1024 * 1024 + 3, true);
    await worker.feed('direct', path, 2 * 1024 * 1024 + 3, 2 * 1024 * 1024 + 4, true);
    expect(await worker.finish('direct', path, 2 * 1024 * 1024 + 4, true)).toEqual({ digest: sha(bytes), bytes: bytes.length - 2 * 1024 * 1024 - 4 });
    expect(await worker.finish('whole', path, 0, true)).toEqual({ digest: sha(bytes), bytes: bytes.length });
    // Two at once share the worker's read memory one after the other.
    const both = await Promise.all([worker.finish('x', path, 0, true), worker.finish('y', path, 0, true)]);
    expect(both.map((b) => b.digest)).toEqual([sha(bytes), sha(bytes)]);
    await expect(worker.feed('short', path, 0, bytes.length + 1, true)).rejects.toMatchObject({ code: 'SHORT_FILE' });
    expect((await worker.finish('short', path, 0, true)).digest).toBe(sha(bytes));
  });

  it('keeps one of two steps fed from the same byte at once, and the digest whole', async () => {
    await worker.feed('twice', path, 0, 1000, true);
    const steps = await Promise.allSettled([worker.feed('twice', path, 1000, bytes.length, true), worker.feed('twice', path, 1000, bytes.length, true)]);
    expect(steps.map((step) => step.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(steps.find((step) => step.status === 'rejected')).toMatchObject({ reason: { code: 'HASH_STATE_LOST' } });
    expect(await worker.finish('twice', path, bytes.length, true)).toEqual({ digest: sha(bytes), bytes: 0 });
    // A step whose digest was dropped while it read answers so, and leaves nothing behind.
    const dropped = worker.feed('dropped', path, 0, bytes.length, true);
    worker.drop('dropped');
    await dropped.catch((err: { code?: string }) => expect(err.code).toBe('HASH_STATE_LOST'));
    await expect(worker.feed('dropped', path, 1000, 2000)).rejects.toMatchObject({ code: 'HASH_STATE_LOST' });
  });

  it('takes back the last step, and leaves the digest alone when a step fails', async () => {
    await worker.feed('b', path, 0, 1000);
    await worker.feed('b', path, 1000, 5000);
    await worker.undo('b');
    await expect(worker.feed('b', path, 1000, bytes.length + 10)).rejects.toMatchObject({ code: 'SHORT_FILE' });
    await expect(worker.feed('b', join(dir, 'missing'), 1000, 2000)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await worker.finish('b', path, 1000)).digest).toBe(sha(bytes));
  });

  it('refuses a step that does not start where the digest ended, or a digest it no longer has', async () => {
    await worker.feed('c', path, 0, 1000);
    await expect(worker.feed('c', path, 2000, 3000)).rejects.toMatchObject({ code: 'HASH_STATE_LOST' });
    await worker.close(); // as after a crash or a quiet minute: a new worker knows nothing
    await expect(worker.finish('c', path, 1000)).rejects.toMatchObject({ code: 'HASH_STATE_LOST' });
    expect((await worker.finish('c', path, 0)).digest).toBe(sha(bytes));
  });

  it('answers a call made while the worker before was still stopping', async () => {
    await worker.feed('d', path, 0, 10);
    const stopping = worker.close();
    expect((await worker.finish('e', path, 0)).digest).toBe(sha(bytes));
    await stopping;
  });
});
