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
