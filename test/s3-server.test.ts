/**
 * The registry with its blobs in S3 (s3rver on loopback): single-shot and resumable uploads,
 * downloads streamed through the server or redirected to a presigned URL, both checked
 * against their digest, and garbage collection that empties the bucket of what nothing uses.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectApiError, startTestServer, type TestServer } from './helpers/harness.js';
import { startS3, type TestS3 } from './helpers/s3.js';

const MiB = 1024 * 1024;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('blobs in S3', () => {
  let s3: TestS3;
  let t: TestServer;
  let presigning: TestServer;

  beforeAll(async () => {
    s3 = await startS3();
    const flags = { blobs: `s3://${s3.bucket}/registry`, s3Endpoint: s3.endpoint, s3PathStyle: 'true' };
    t = await startTestServer('sqlite', flags);
    presigning = await startTestServer('sqlite', { ...flags, blobs: `s3://${s3.bucket}/presigned`, s3Presign: '5m' });
  });
  afterAll(async () => {
    await t?.close();
    await presigning?.close();
    await s3?.close();
  });

  it('takes a version\'s files in one request and in resumable parts, and serves them back verified', async () => {
    await t.admin.createModel({ name: 'in-s3' });
    const small = randomBytes(100 * 1024);
    const large = randomBytes(11 * MiB + 123);
    const smallBlob = await t.admin.uploadBlob(small, { sha256: sha(small) });
    // The default part size keeps to S3's 5 MiB minimum; this upload asks for the minimum
    // itself, so that its 11 MiB go up as three parts, in parallel.
    const defaults = await t.admin.startUpload({ size: 40 * MiB });
    expect(defaults.part_size).toBeGreaterThanOrEqual(5 * MiB);
    await t.admin.abortUpload(defaults.upload_id);
    const session = await t.admin.startUpload({ size: large.length, sha256: sha(large), part_size: 5 * MiB });
    expect(session.part_count).toBe(3);
    const largeBlob = await t.admin.uploadResumable({ size: large.length, sha256: sha(large), readPart: async (s, e) => large.subarray(s, e), parallel: 3 });
    expect(largeBlob.digest).toBe(`sha256:${sha(large)}`);
    const v = await t.admin.createVersion('in-s3', { files: [
      { path: 'config.json', digest: smallBlob.digest, size: small.length },
      { path: 'weights.bin', digest: largeBlob.digest, size: large.length },
    ] });
    expect(Buffer.from(await t.admin.downloadBlob(largeBlob.digest)).equals(large)).toBe(true);
    const ranged = await t.admin.openBlob(smallBlob.digest, { start: 5, end: 9 });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(small.subarray(5, 10))).toBe(true);
    expect(ranged.headers.get('etag')).toBe(`"${smallBlob.digest}"`);
    expect((await t.admin.verifyBlobs('in-s3'))).toMatchObject({ ok: true, blobs_checked: 2 });
    expect(v.files.map((f) => f.path)).toEqual(['config.json', 'weights.bin']);
  });

  it('refuses a wrong whole digest without creating the object', async () => {
    const bytes = randomBytes(6 * MiB);
    const s = await t.admin.startUpload({ size: bytes.length, sha256: sha(randomBytes(8)) });
    for (const n of s.missing_parts) await t.admin.uploadPart(s.upload_id, n, bytes.subarray((n - 1) * s.part_size, n * s.part_size));
    await expectApiError(t.admin.completeUpload(s.upload_id), 422, 'DIGEST_MISMATCH');
    await expectApiError(t.admin.blobInfo(`sha256:${sha(bytes)}`), 404, 'BLOB_NOT_FOUND');
  });

  it('redirects downloads to a presigned URL when configured, and the client still checks the digest', async () => {
    const bytes = randomBytes(64 * 1024);
    const blob = await presigning.admin.uploadBlob(bytes);
    const response = await fetch(`${presigning.url}/api/v1/blobs/${blob.digest}`, { headers: { authorization: `Bearer ${presigning.adminToken}` }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toContain(s3.endpoint);
    expect(response.headers.get('etag')).toBe(`"${blob.digest}"`);
    expect(Buffer.from(await presigning.admin.downloadBlob(blob.digest)).equals(bytes)).toBe(true);
    // Read as it arrives (as `modelgate download` does): the redirect is followed without the token.
    const chunks: Uint8Array[] = [];
    for await (const chunk of (await presigning.admin.readBlob(blob.digest)).body) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('collects what nothing references from the bucket', async () => {
    const orphan = await t.admin.uploadBlob(randomBytes(1000));
    const gc = await t.admin.collectGarbage({ grace_seconds: 0 });
    expect(gc.removed).toContain(orphan.digest);
    await expectApiError(t.admin.blobInfo(orphan.digest), 404, 'BLOB_NOT_FOUND');
    expect((await t.admin.verifyBlobs()).ok).toBe(true);
  });
});
