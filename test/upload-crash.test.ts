/**
 * kill -9 during uploads, many times per database: an upload session keeps every part it
 * acknowledged and resumes to the exact bytes; an interrupted single-request upload leaves at
 * most a temporary file, which garbage collection removes; no blob is ever published partial.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS } from './helpers/harness.js';
import { createStore } from './helpers/process.js';

/** Kills per database: `.ci/run` asks for 20; 8 keeps a developer's `npm test` quick. */
const KILLS = Number(process.env.MODELGATE_CRASH_KILLS ?? 8);
const KiB = 1024;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe.each(DIALECTS)('kill -9 during uploads on $name', ({ name: dialect }) => {
  it(`resumes a session across ${KILLS} crashes and collects what interrupted uploads left`, async () => {
    const store = await createStore(dialect);
    try {
      const bytes = randomBytes(6 * 1024 * KiB);
      const partSize = 128 * KiB;
      let proc = await store.serve(['--gc-interval', '0']);
      const token = await store.adminToken();
      let client = new ModelgateClient({ url: proc.url, token });
      const session = await client.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: partSize });
      const singles: string[] = [];

      for (let kill = 0; kill < KILLS; kill++) {
        const state = await client.startUpload({ size: bytes.length, sha256: sha(bytes) });
        expect(state.upload_id).toBe(session.upload_id);
        const queue = [...state.missing_parts];
        const sending = Array.from({ length: 4 }, async () => {
          for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
            const part = bytes.subarray((n - 1) * partSize, n * partSize);
            await client.uploadPart(session.upload_id, n, part, { sha256: sha(part) });
          }
        });
        const single = randomBytes(512 * KiB);
        singles.push(`sha256:${sha(single)}`);
        const settled = Promise.allSettled([...sending, client.uploadBlob(single)]);
        await new Promise((r) => setTimeout(r, 10 + ((kill * 37) % 150)));
        await proc.kill9();
        await settled;
        proc = await store.serve(['--gc-interval', '0']);
        client = new ModelgateClient({ url: proc.url, token });
        // Whatever the server acknowledged is there; a part cut off halfway is simply missing.
        const after = await client.getUpload(session.upload_id);
        expect(after.status).toBe('open');
        for (const p of after.parts) expect(p.sha256).toBe(sha(bytes.subarray((p.number - 1) * partSize, p.number * partSize)));
      }

      const blob = await client.uploadResumable({ size: bytes.length, sha256: sha(bytes), readPart: async (s, e) => bytes.subarray(s, e) });
      expect(blob.digest).toBe(`sha256:${sha(bytes)}`);
      expect(Buffer.from(await client.downloadBlob(blob.digest)).equals(bytes)).toBe(true);
      // A single-request upload is either whole under its digest or absent; never partial.
      for (const digest of singles) {
        const info = await client.blobInfo(digest).catch(() => null);
        if (info) expect(info.size).toBe(512 * KiB);
      }
      await client.createModel({ name: 'survivor' });
      await client.createVersion('survivor', { files: [{ path: 'weights.bin', digest: blob.digest, size: blob.size }] });
      expect((await client.verifyBlobs()).ok).toBe(true);
      expect((await client.verifyAudit()).ok).toBe(true);

      // Temporary files of interrupted uploads wait an hour; aged, they go at the next collection.
      const tmp = join(store.dataDir, 'blobs', 'tmp');
      const left = await readdir(tmp);
      const old = new Date(Date.now() - 2 * 3_600_000);
      for (const name of left) await utimes(join(tmp, name), old, old);
      const gc = await client.collectGarbage({ grace_seconds: 0 });
      expect(gc.temp_files_removed).toBe(left.length);
      expect(await readdir(tmp)).toEqual([]);
      expect(await readdir(join(store.dataDir, 'blobs', 'uploads'))).toEqual([]);
      await proc.stop();
    } finally {
      await store.close();
    }
  }, 300_000);
});
