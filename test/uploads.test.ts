/**
 * Resumable uploads, quotas, garbage collection and verification, over HTTP against the real
 * server on each database: parts in any order and in parallel, sessions that survive a
 * restart, checksums per part and for the whole, and collection that never takes bytes a
 * version points to.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS, closedPortUrl, expectApiError, startTestServer, type TestServer } from './helpers/harness.js';

const KiB = 1024;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const crc = (bytes: Uint8Array) => (crc32(bytes) >>> 0).toString(16).padStart(8, '0');
const part = (bytes: Uint8Array, n: number, size: number) => bytes.subarray((n - 1) * size, Math.min(bytes.length, n * size));

describe.each(DIALECTS)('resumable uploads on $name', ({ name: dialect }) => {
  let t: TestServer;
  let dev: ModelgateClient;

  beforeAll(async () => {
    t = await startTestServer(dialect, { uploadTtl: '1h' });
    dev = await t.as('contributor', 'uploader');
    await t.admin.createModel({ name: 'big-model' });
  });
  afterAll(async () => t?.close());

  it('takes parts in any order and in parallel, says what it has, and checks the whole digest', async () => {
    const bytes = randomBytes(300 * KiB + 17);
    const session = await dev.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: 64 * KiB });
    expect(session).toMatchObject({ status: 'open', part_size: 64 * KiB, part_count: 5, missing_parts: [1, 2, 3, 4, 5], parts: [] });

    await Promise.all([5, 2, 4].map((n) => dev.uploadPart(session.upload_id, n, part(bytes, n, 64 * KiB), { sha256: sha(part(bytes, n, 64 * KiB)) })));
    const halfway = await dev.getUpload(session.upload_id);
    expect(halfway.missing_parts).toEqual([1, 3]);
    expect(halfway.parts.map((p) => [p.number, p.size])).toEqual([[2, 65536], [4, 65536], [5, 44 * KiB + 17]]);
    await expectApiError(dev.completeUpload(session.upload_id), 409, 'UPLOAD_INCOMPLETE');

    await Promise.all([1, 3].map((n) => dev.uploadPart(session.upload_id, n, part(bytes, n, 64 * KiB))));
    const blob = await dev.completeUpload(session.upload_id);
    expect(blob).toMatchObject({ digest: `sha256:${sha(bytes)}`, size: bytes.length });
    // Completing twice answers the same blob; the bytes download intact.
    expect((await dev.completeUpload(session.upload_id)).digest).toBe(blob.digest);
    expect(Buffer.from(await dev.downloadBlob(blob.digest)).equals(bytes)).toBe(true);
    const version = await dev.createVersion('big-model', { files: [{ path: 'weights.bin', digest: blob.digest, size: blob.size }] });
    expect(version.files[0]?.digest).toBe(blob.digest);
  });

  it('keeps a session across a server restart, and resumes it when started again with the same sha256', async () => {
    const bytes = randomBytes(200 * KiB);
    const first = await dev.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: 64 * KiB });
    await dev.uploadPart(first.upload_id, 1, part(bytes, 1, 64 * KiB));
    await dev.uploadPart(first.upload_id, 3, part(bytes, 3, 64 * KiB));
    await t.restart();
    const again = await dev.startUpload({ size: bytes.length, sha256: sha(bytes) });
    expect(again.upload_id).toBe(first.upload_id);
    expect(again.missing_parts).toEqual([2, 4]);
    // uploadResumable sends only what is missing.
    const sent: number[] = [];
    const blob = await dev.uploadResumable({
      size: bytes.length, sha256: sha(bytes),
      readPart: async (start, end) => { sent.push(start); return bytes.subarray(start, end); },
    });
    expect(sent.sort((a, b) => a - b)).toEqual([64 * KiB, 3 * 64 * KiB]);
    expect(blob.digest).toBe(`sha256:${sha(bytes)}`);
    expect((await dev.getUpload(first.upload_id)).status).toBe('completed');
  });

  it('refuses a part whose bytes do not match its checksum, and records nothing for it', async () => {
    const bytes = randomBytes(128 * KiB);
    const s = await dev.startUpload({ size: bytes.length, part_size: 64 * KiB });
    await expectApiError(dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB), { sha256: sha(part(bytes, 2, 64 * KiB)) }), 422, 'PART_DIGEST_MISMATCH');
    expect((await dev.getUpload(s.upload_id)).missing_parts).toEqual([1, 2]);
    // A part of the wrong length, short or long, is refused too.
    await expectApiError(dev.uploadPart(s.upload_id, 1, bytes.subarray(0, 1000)), 400, 'PART_SIZE_MISMATCH');
    await expectApiError(dev.uploadPart(s.upload_id, 2, bytes), 400, 'PART_SIZE_MISMATCH');
    await expectApiError(dev.uploadPart(s.upload_id, 3, bytes.subarray(0, 10)), 400, 'VALIDATION_FAILED');
    expect((await dev.getUpload(s.upload_id)).missing_parts).toEqual([1, 2]);
    // A good part resent badly is missing again, not silently kept over rewritten bytes.
    await dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    expect((await dev.getUpload(s.upload_id)).missing_parts).toEqual([2]);
    await expectApiError(dev.uploadPart(s.upload_id, 1, part(bytes, 2, 64 * KiB), { sha256: sha(part(bytes, 1, 64 * KiB)) }), 422, 'PART_DIGEST_MISMATCH');
    expect((await dev.getUpload(s.upload_id)).missing_parts).toEqual([1, 2]);
  });

  it('checks a part by its CRC-32 instead of its sha256 when asked to, and records which checksums it has', async () => {
    const bytes = randomBytes(200 * KiB);
    const s = await dev.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: 64 * KiB });
    const [p1, p2, p3, p4] = [1, 2, 3, 4].map((n) => part(bytes, n, 64 * KiB)) as [Buffer, Buffer, Buffer, Buffer];
    // By CRC-32 alone: the server does not hash the part (sha256 null), and says what it computed.
    expect(await dev.uploadPart(s.upload_id, 1, p1, { crc32: crc(p1) })).toMatchObject({ number: 1, size: 64 * KiB, sha256: null, crc32: crc(p1) });
    // Upper-case digits are the same CRC; both checksums are both checked and both recorded.
    expect(await dev.uploadPart(s.upload_id, 2, p2, { crc32: crc(p2).toUpperCase(), sha256: sha(p2) })).toMatchObject({ sha256: sha(p2), crc32: crc(p2) });
    // With no checksum the server records both.
    expect(await dev.uploadPart(s.upload_id, 3, p3)).toMatchObject({ sha256: sha(p3), crc32: crc(p3) });
    // A wrong CRC-32, or one right CRC-32 beside a wrong sha256, records nothing; a malformed one is a 400.
    await expectApiError(dev.uploadPart(s.upload_id, 4, p4, { crc32: crc(p3) }), 422, 'PART_DIGEST_MISMATCH');
    await expectApiError(dev.uploadPart(s.upload_id, 4, p4, { crc32: crc(p4), sha256: sha(p3) }), 422, 'PART_DIGEST_MISMATCH');
    for (const bad of ['xyz', '123456789', '1234567g', '']) {
      await expectApiError(dev.uploadPart(s.upload_id, 4, p4, { crc32: bad }), 400, 'VALIDATION_FAILED');
    }
    const refused = await fetch(`${t.url}/api/v1/uploads/${s.upload_id}/parts/4?crc32=${crc(p1)}`, {
      method: 'PUT', body: p4, headers: { authorization: `Bearer ${(dev as unknown as { token: string }).token}`, 'content-type': 'application/octet-stream' },
    });
    expect(refused.status).toBe(422);
    expect((await refused.json()).error).toMatchObject({ code: 'PART_DIGEST_MISMATCH', details: { part: 4, algorithm: 'crc32', expected: crc(p1), actual: crc(p4) } });
    const state = await dev.getUpload(s.upload_id);
    expect(state.missing_parts).toEqual([4]);
    expect(state.parts.map((p) => [p.number, p.sha256, p.crc32])).toEqual([[1, null, crc(p1)], [2, sha(p2), crc(p2)], [3, sha(p3), crc(p3)]]);
    await dev.uploadPart(s.upload_id, 4, p4, { crc32: crc(p4) });
    // The whole sha256 is checked at completion, whichever checksum each part had.
    expect(await dev.completeUpload(s.upload_id)).toMatchObject({ digest: `sha256:${sha(bytes)}`, size: bytes.length });
  });

  it('sends parts with their CRC-32 from the SDK in Node, reading each into the sender\'s own buffer', async () => {
    const bytes = randomBytes(5 * 64 * KiB + 99);
    const buffers = new Set<ArrayBufferLike>();
    const blob = await dev.uploadResumable({
      size: bytes.length, sha256: sha(bytes), partSize: 64 * KiB, parallel: 2,
      readPart: async (start, end, into) => {
        buffers.add(into.buffer);
        into.set(bytes.subarray(start, end));
        return into.subarray(0, end - start);
      },
    });
    expect(blob).toEqual({ digest: `sha256:${sha(bytes)}`, size: bytes.length });
    expect(buffers.size).toBe(2);
    const [session] = await t.sql('SELECT id FROM upload_sessions WHERE digest = ?', [blob.digest]) as { id: string }[];
    const parts = (await dev.getUpload(session!.id)).parts;
    expect(parts.map((p) => [p.sha256, p.crc32])).toEqual([1, 2, 3, 4, 5, 6].map((n) => [null, crc(part(bytes, n, 64 * KiB))]));
    expect(Buffer.from(await dev.downloadBlob(blob.digest)).equals(bytes)).toBe(true);
  });

  it('falls back to sha256 part checks against a server that does not know crc32', async () => {
    // The registry behind a proxy that answers ?crc32= as a server from before it did: a 400
    // from its strict query schema, before reading the body (which Node's server then discards,
    // keeping the connection, as it does behind Fastify).
    let refused = 0;
    const proxy = http.createServer((req, res) => {
      if (req.url?.includes('crc32=')) {
        refused += 1;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'VALIDATION_FAILED', message: 'querystring must NOT have additional properties' } }));
        return;
      }
      const upstream = http.request(`${t.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((ready) => proxy.listen(0, '127.0.0.1', ready));
    try {
      const old = new ModelgateClient({ url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, token: (dev as unknown as { token: string }).token });
      const bytes = randomBytes(4 * 64 * KiB);
      const blob = await old.uploadResumable({ size: bytes.length, sha256: sha(bytes), partSize: 64 * KiB, parallel: 2, readPart: async (start, end) => bytes.subarray(start, end) });
      expect(blob.digest).toBe(`sha256:${sha(bytes)}`);
      expect(refused).toBeGreaterThanOrEqual(1);
      expect(refused).toBeLessThanOrEqual(2); // one per sender at most, then sha256 for the rest
      const [session] = await t.sql('SELECT id FROM upload_sessions WHERE digest = ?', [blob.digest]) as { id: string }[];
      expect((await dev.getUpload(session!.id)).parts.map((p) => p.sha256)).toEqual([1, 2, 3, 4].map((n) => sha(part(bytes, n, 64 * KiB))));
    } finally {
      await new Promise((closed) => proxy.close(closed));
    }
  });

  it('streams bodies from Node straight to the socket, and reports a server it cannot reach as UNREACHABLE', async () => {
    const nowhere = new ModelgateClient({ url: await closedPortUrl(), token: 'x' });
    await expect(nowhere.uploadBlob(randomBytes(10))).rejects.toMatchObject({ status: 0, code: 'UNREACHABLE', message: expect.stringMatching(/ECONNREFUSED/) });
    // A server that refuses the body half-way answers before it is all sent: the refusal is what the caller sees.
    const s = await dev.startUpload({ size: 128 * KiB, part_size: 64 * KiB });
    await expectApiError(dev.uploadPart(s.upload_id, 1, (async function* () { for (let i = 0; i < 64; i++) yield randomBytes(16 * KiB); })()), 400, 'PART_SIZE_MISMATCH');
    expect((await dev.getUpload(s.upload_id)).missing_parts).toEqual([1, 2]);
    // A stream that is not the size declared fails on the client, which goes on working.
    const bytes = randomBytes(3000);
    const stream = async function* () { yield bytes.subarray(0, 1000); yield bytes.subarray(1000); };
    await expect(dev.uploadBlob(stream(), { size: 2000 })).rejects.toMatchObject({ code: 'ERR_HTTP_CONTENT_LENGTH_MISMATCH' });
    await expect(dev.uploadBlob(stream(), { size: 4000 })).rejects.toMatchObject({ code: 'ERR_HTTP_CONTENT_LENGTH_MISMATCH' });
    expect(await dev.uploadBlob(stream(), { size: 3000, sha256: sha(bytes) })).toEqual({ digest: `sha256:${sha(bytes)}`, size: 3000 });
    // A stream of declared length that the server refuses before reading it gets the refusal, not a length error.
    const viewer = await t.as('viewer');
    const slow = async function* () { yield bytes.subarray(0, 1000); await new Promise((resolve) => setTimeout(resolve, 300)); yield bytes.subarray(1000); };
    await expectApiError(viewer.uploadBlob(slow(), { size: 3000 }), 403, 'ROLE_REQUIRED');
    await expectApiError(dev.uploadBlob(stream(), { size: 3000, sha256: sha(randomBytes(3)) }), 422, 'DIGEST_MISMATCH');
    expect((await dev.uploadBlob(stream(), { size: 3000 })).size).toBe(3000);
  });

  it('keeps the parts of a session begun before parts had a CRC-32 across the upgrade', async () => {
    const bytes = randomBytes(128 * KiB);
    const s = await dev.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: 64 * KiB });
    await dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    // The registry as it was before the migration and those after it (SQLite rebuilds the table, so a nullable sha256 stays).
    await t.sql('ALTER TABLE upload_parts DROP COLUMN crc32');
    await t.sql('DROP INDEX versions_released');
    await t.sql('DELETE FROM kysely_migration WHERE name >= ?', ['2026-11-27-10-part-crc32']);
    await t.restart();
    const state = await dev.getUpload(s.upload_id);
    expect(state.parts.map((p) => [p.number, p.sha256, p.crc32])).toEqual([[1, sha(part(bytes, 1, 64 * KiB)), null]]);
    await dev.uploadPart(s.upload_id, 2, part(bytes, 2, 64 * KiB), { crc32: crc(part(bytes, 2, 64 * KiB)) });
    expect((await dev.completeUpload(s.upload_id)).digest).toBe(`sha256:${sha(bytes)}`);
  });

  it('never replaces the stored file of a blob that exists already', async () => {
    const bytes = randomBytes(128 * KiB);
    const first = await dev.uploadBlob(bytes);
    const path = join(t.dataDir, 'blobs', 'sha256', first.digest.slice(7, 9), first.digest.slice(7));
    const before = (await stat(path)).ino;
    const s = await dev.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: 64 * KiB });
    await dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    await dev.uploadPart(s.upload_id, 2, part(bytes, 2, 64 * KiB));
    expect((await dev.completeUpload(s.upload_id)).digest).toBe(first.digest);
    await dev.uploadBlob(bytes);
    expect((await stat(path)).ino).toBe(before);
  });

  it('refuses to complete when the whole digest differs: no blob appears and the session ends', async () => {
    const bytes = randomBytes(100 * KiB);
    const declared = sha(randomBytes(10));
    const s = await dev.startUpload({ size: bytes.length, sha256: declared, part_size: 64 * KiB });
    await dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    await dev.uploadPart(s.upload_id, 2, part(bytes, 2, 64 * KiB));
    await expectApiError(dev.completeUpload(s.upload_id), 422, 'DIGEST_MISMATCH');
    await expectApiError(dev.blobInfo(`sha256:${sha(bytes)}`), 404, 'BLOB_NOT_FOUND');
    expect((await dev.getUpload(s.upload_id)).status).toBe('aborted');
    await expectApiError(dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB)), 409, 'UPLOAD_NOT_OPEN');
  });

  it('does not record a part whose connection dropped halfway, and takes it again afterwards', async () => {
    const bytes = randomBytes(128 * KiB);
    const s = await dev.startUpload({ size: bytes.length, part_size: 64 * KiB });
    const url = new URL(`${t.url}/api/v1/uploads/${s.upload_id}/parts/1`);
    await new Promise<void>((resolve) => {
      const req = http.request(url, { method: 'PUT', headers: { authorization: `Bearer ${(dev as unknown as { token: string }).token}`, 'content-type': 'application/octet-stream', 'content-length': String(64 * KiB) } });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(part(bytes, 1, 64 * KiB).subarray(0, 20 * KiB));
      setTimeout(() => { req.destroy(); resolve(); }, 200);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await dev.getUpload(s.upload_id)).missing_parts).toEqual([1, 2]);
    await dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    await dev.uploadPart(s.upload_id, 2, part(bytes, 2, 64 * KiB));
    expect((await dev.completeUpload(s.upload_id)).digest).toBe(`sha256:${sha(bytes)}`);
  });

  it('keeps a part resent while a crashed completion holds the parts, and finishes that completion', async () => {
    const bytes = randomBytes(128 * KiB);
    const s = await dev.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: 64 * KiB });
    await dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    await dev.uploadPart(s.upload_id, 2, part(bytes, 2, 64 * KiB));
    // A completion took the session file, then its server died before publishing it.
    const uploads = join(t.dataDir, 'blobs', 'uploads');
    await rename(join(uploads, `${s.upload_id}.parts`), join(uploads, `${s.upload_id}.completing`));
    // The client, having had no answer, resends a part: refused, and the part it had stands.
    await expectApiError(dev.uploadPart(s.upload_id, 1, randomBytes(64 * KiB)), 409, 'UPLOAD_NOT_OPEN');
    expect((await dev.getUpload(s.upload_id)).missing_parts).toEqual([]);
    expect((await dev.completeUpload(s.upload_id)).digest).toBe(`sha256:${sha(bytes)}`);
    expect((await readdir(uploads)).filter((n) => n.startsWith(s.upload_id) && !n.endsWith('.published'))).toEqual([]);
  });

  it('lets a session be aborted at once after its completion failed', async () => {
    const bytes = randomBytes(128 * KiB);
    const s = await dev.startUpload({ size: bytes.length, part_size: 64 * KiB });
    await dev.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    await dev.uploadPart(s.upload_id, 2, part(bytes, 2, 64 * KiB));
    // The session file lost its tail on disk: completion finds fewer bytes than the parts add up to.
    await truncate(join(t.dataDir, 'blobs', 'uploads', `${s.upload_id}.parts`), 100 * KiB);
    await expect(dev.completeUpload(s.upload_id)).rejects.toMatchObject({ code: 'PART_SIZE_MISMATCH' });
    await dev.abortUpload(s.upload_id);
    expect((await dev.getUpload(s.upload_id)).status).toBe('aborted');
  });

  it('keeps sessions private to their creator, and aborts them on request', async () => {
    const s = await dev.startUpload({ size: 10 });
    const other = await t.as('contributor', 'someone-else');
    await expectApiError(other.getUpload(s.upload_id), 404, 'UPLOAD_NOT_FOUND');
    await expectApiError(other.uploadPart(s.upload_id, 1, new Uint8Array(10)), 404, 'UPLOAD_NOT_FOUND');
    const viewer = await t.as('viewer', 'just-looking');
    await expectApiError(viewer.startUpload({ size: 10 }), 403, 'ROLE_REQUIRED');
    await dev.abortUpload(s.upload_id);
    expect((await dev.getUpload(s.upload_id)).status).toBe('aborted');
    await expectApiError(dev.uploadPart(s.upload_id, 1, new Uint8Array(10)), 409, 'UPLOAD_NOT_OPEN');
    expect(await readdir(join(t.dataDir, 'blobs', 'uploads'))).not.toContain(`${s.upload_id}.parts`);
  });
});

describe.each(DIALECTS)('quotas, garbage collection and verification on $name', ({ name: dialect }) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(dialect, { maxBlobSize: '1M', maxStoreSize: '3M', uploadTtl: '2s' });
    await t.admin.createModel({ name: 'kept' });
  });
  afterAll(async () => t?.close());

  it('refuses a blob over the size limit (413) and bytes beyond the store quota (507), keeping nothing', async () => {
    await expectApiError(t.admin.startUpload({ size: 2 * 1024 * KiB }), 413, 'PAYLOAD_TOO_LARGE');
    await expectApiError(t.admin.uploadBlob(randomBytes(1024 * KiB + 1)), 413, 'PAYLOAD_TOO_LARGE');
    const a = await t.admin.startUpload({ size: 1000 * KiB });
    const b = await t.admin.startUpload({ size: 1000 * KiB });
    await t.admin.uploadBlob(randomBytes(900 * KiB));
    // Two open sessions reserve their declared sizes: a third megabyte no longer fits.
    const refused = t.admin.startUpload({ size: 1000 * KiB });
    await expectApiError(refused, 507, 'STORAGE_QUOTA_EXCEEDED');
    await t.admin.abortUpload(a.upload_id);
    await t.admin.abortUpload(b.upload_id);
    await t.admin.collectGarbage({ grace_seconds: 0 });
  });

  it('collects unreferenced blobs, deleted development versions\' bytes and expired sessions, never referenced ones', async () => {
    const kept = await t.admin.uploadBlob(randomBytes(10 * KiB));
    await t.admin.createVersion('kept', { files: [{ path: 'w.bin', digest: kept.digest, size: kept.size }] });
    const orphan = await t.admin.uploadBlob(randomBytes(10 * KiB));
    const dropped = await t.admin.uploadBlob(randomBytes(10 * KiB));
    const doomed = await t.admin.createVersion('kept', { files: [{ path: 'w.bin', digest: dropped.digest, size: dropped.size }] });
    await t.admin.deleteVersion('kept', doomed.version);
    const session = await t.admin.startUpload({ size: 100 });
    // A crashed upload's temporary file, two hours old (temporary files wait an hour whatever the grace).
    const crashed = join(t.dataDir, 'blobs', 'tmp', 'crashed.part');
    await writeFile(crashed, randomBytes(100));
    await utimes(crashed, new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    await writeFile(join(t.dataDir, 'blobs', 'tmp', 'in-progress.part'), randomBytes(100));

    // Within the grace period nothing is touched; a dry run says what would go.
    // (Temporary files left by a crash over an hour ago go at once.)
    const quiet = await t.admin.collectGarbage({});
    expect(quiet).toMatchObject({ blobs_removed: 0, temp_files_removed: 1 });
    const dry = await t.admin.collectGarbage({ dry_run: true, grace_seconds: 0 });
    expect(dry.removed.sort()).toEqual([orphan.digest, dropped.digest].sort());
    await t.admin.blobInfo(orphan.digest);

    await new Promise((r) => setTimeout(r, 2100)); // the session's 2 s lifetime
    const gc = await t.admin.collectGarbage({ grace_seconds: 0 });
    expect(gc.removed.sort()).toEqual([orphan.digest, dropped.digest].sort());
    expect(gc).toMatchObject({ blobs_removed: 2, bytes_removed: 20 * KiB, sessions_expired: 1, temp_files_removed: 0 });
    await expectApiError(t.admin.blobInfo(orphan.digest), 404, 'BLOB_NOT_FOUND');
    await expectApiError(t.admin.blobInfo(dropped.digest), 404, 'BLOB_NOT_FOUND');
    expect((await t.admin.blobInfo(kept.digest)).size).toBe(10 * KiB);
    expect((await t.admin.getUpload(session.upload_id)).status).toBe('expired');
    expect(await readdir(join(t.dataDir, 'blobs', 'tmp'))).toEqual(['in-progress.part']);
    const audit = await t.admin.listAudit({ action: 'blobs.collected' });
    expect(audit.entries[0]?.changes).toMatchObject({ blobs: 2, bytes: 20 * KiB });
    // Only admins collect.
    const approver = await t.as('approver', 'not-an-admin');
    await expectApiError(approver.collectGarbage({}), 403, 'ROLE_REQUIRED');
  });

  it('lets a completion that began before the session expired finish: collection and abort leave its parts alone', async () => {
    const bytes = randomBytes(128 * KiB);
    const s = await t.admin.startUpload({ size: bytes.length, sha256: sha(bytes), part_size: 64 * KiB });
    await t.admin.uploadPart(s.upload_id, 1, part(bytes, 1, 64 * KiB));
    await t.admin.uploadPart(s.upload_id, 2, part(bytes, 2, 64 * KiB));
    // A part writer still at work (its lease is fresh) keeps the completion waiting after it began.
    const writers = join(t.dataDir, 'blobs', 'uploads', `${s.upload_id}.writers`);
    await mkdir(writers, { recursive: true });
    await writeFile(join(writers, 'slow-writer'), '');
    const completion = t.admin.completeUpload(s.upload_id);
    await new Promise((r) => setTimeout(r, 2100)); // past the session's 2 s lifetime
    await t.admin.collectGarbage({ grace_seconds: 0 });
    expect((await t.admin.getUpload(s.upload_id)).status).toBe('open');
    await expectApiError(t.admin.abortUpload(s.upload_id), 409, 'UPLOAD_NOT_OPEN');
    await rm(join(writers, 'slow-writer'));
    expect(await completion).toMatchObject({ digest: `sha256:${sha(bytes)}`, size: bytes.length });
    expect((await t.admin.getUpload(s.upload_id)).status).toBe('completed');
    expect((await t.admin.blobInfo(`sha256:${sha(bytes)}`)).size).toBe(bytes.length);
  });

  it('never collects a blob that a version being created at the same moment points to', async () => {
    for (let round = 0; round < 10; round++) {
      const blobs = await Promise.all(Array.from({ length: 4 }, () => t.admin.uploadBlob(randomBytes(1024))));
      const creates = blobs.map((b, i) => t.admin.createVersion('kept', { files: [{ path: `r${round}-${i}.bin`, digest: b.digest, size: b.size }] })
        .then((v) => ({ ok: true as const, v }), (err: { code?: string }) => ({ ok: false as const, code: err.code })));
      const gcs = [t.admin.collectGarbage({ grace_seconds: 0 }), t.admin.collectGarbage({ grace_seconds: 0 })];
      const results = await Promise.all(creates);
      await Promise.all(gcs);
      for (const r of results) {
        if (!r.ok) {
          expect(r.code).toBe('BLOB_NOT_FOUND'); // collected first: the version was refused, not created broken
          continue;
        }
        for (const f of r.v.files) expect((await t.admin.blobInfo(f.digest)).size).toBe(1024);
      }
    }
    const report = await t.admin.verifyBlobs();
    expect(report.ok).toBe(true);
  });

  it('verify rehashes every referenced blob and names the missing and the corrupt', async () => {
    const good = await t.admin.uploadBlob(randomBytes(5 * KiB));
    const bad = await t.admin.uploadBlob(randomBytes(5 * KiB));
    const gone = await t.admin.uploadBlob(randomBytes(5 * KiB));
    await t.admin.createModel({ name: 'checked' });
    const v = await t.admin.createVersion('checked', { files: [good, bad, gone].map((b, i) => ({ path: `f${i}`, digest: b.digest, size: b.size })) });
    expect((await t.admin.verifyBlobs('checked'))).toMatchObject({ ok: true, blobs_checked: 3, bytes_checked: 15 * KiB });
    const path = (d: string) => join(t.dataDir, 'blobs', 'sha256', d.slice(7, 9), d.slice(7));
    await writeFile(path(bad.digest), randomBytes(5 * KiB));
    await rm(path(gone.digest));
    const report = await t.admin.verifyBlobs('checked');
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.digest, p.problem]).sort()).toEqual([[bad.digest, 'corrupt'], [gone.digest, 'missing']].sort());
    expect(report.problems[0]?.used_by[0]).toMatch(new RegExp(`^checked/${v.version}:f[12]$`));
    const viewer = await t.as('viewer', 'v-viewer');
    await expectApiError(viewer.verifyBlobs(), 403, 'ROLE_REQUIRED');
  });
});

describe('periodic garbage collection', () => {
  it('runs by itself every --gc-interval and leaves referenced blobs alone', async () => {
    const t = await startTestServer('sqlite', { gcInterval: '300ms', gcGrace: '3s' });
    try {
      await t.admin.createModel({ name: 'periodic' });
      const kept = await t.admin.uploadBlob(randomBytes(100));
      await t.admin.createVersion('periodic', { files: [{ path: 'a', digest: kept.digest, size: kept.size }] });
      const orphan = await t.admin.uploadBlob(randomBytes(100));
      let gone = false;
      for (let i = 0; i < 100 && !gone; i++) {
        await new Promise((r) => setTimeout(r, 100));
        gone = await t.admin.blobInfo(orphan.digest).then(() => false, () => true);
      }
      expect(gone).toBe(true);
      expect((await t.admin.blobInfo(kept.digest)).size).toBe(100);
      expect((await t.admin.listAudit({ action: 'blobs.collected' })).entries[0]?.actor).toBe('system');
    } finally {
      await t.close();
    }
  });
});
