/**
 * The blob store's guarantees, over HTTP: bytes are stored once under their sha256, a refused
 * upload leaves no file anywhere, downloads carry their digest and honour Range, and a 2 GiB
 * upload streams through the server without its memory growing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS, closedPortUrl, startTestServer, type TestServer } from './helpers/harness.js';
import { expectError, expectRejected, raw } from './helpers/http.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every file under a directory, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe.each(DIALECTS)('blobs on $name', ({ name: dialect }) => {
  let t: TestServer;
  let viewer: ModelgateClient;
  const blobsDir = () => join(t.dataDir, 'blobs');
  const blobPath = (hex: string) => join(blobsDir(), 'sha256', hex.slice(0, 2), hex);

  /** A refusal that must change nothing: not the registry, not a single file under the blobs dir. */
  async function refusedUpload(request: () => Promise<unknown>, status: number, code: string) {
    const before = await filesUnder(blobsDir());
    const error = await expectRejected(t, request, status, code);
    expect(await filesUnder(blobsDir())).toEqual(before);
    return error;
  }

  beforeAll(async () => {
    t = await startTestServer(dialect);
    viewer = await t.as('viewer');
  });
  afterAll(async () => { await t?.close(); });

  it('an upload answers with the sha256 and size of the bytes, and stores exactly them', async () => {
    const bytes = randomBytes(100_000);
    const blob = await t.admin.uploadBlob(bytes);
    expect(blob).toEqual({ digest: `sha256:${sha256(bytes)}`, size: 100_000 });
    expect(await readFile(blobPath(sha256(bytes)))).toEqual(bytes);
  });

  it('identical bytes uploaded twice, in different chunkings, give one digest and one stored file', async () => {
    const bytes = randomBytes(300_000);
    const before = await filesUnder(join(blobsDir(), 'sha256'));
    const first = await t.admin.uploadBlob(bytes);
    async function* dribble() { for (let i = 0; i < bytes.length; i += 7_777) yield bytes.subarray(i, i + 7_777); }
    const second = await t.admin.uploadBlob(dribble());
    const third = await t.admin.uploadBlob(bytes, { sha256: sha256(bytes) });
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    const after = await filesUnder(join(blobsDir(), 'sha256'));
    expect(after.filter((f) => !before.includes(f))).toEqual([join(sha256(bytes).slice(0, 2), sha256(bytes))]);
    expect(await filesUnder(join(blobsDir(), 'tmp'))).toEqual([]);
  });

  it('an empty body uploads as the sha256 of nothing, and downloads as nothing', async () => {
    expect(await t.admin.uploadBlob(new Uint8Array(0))).toEqual({ digest: `sha256:${EMPTY_SHA256}`, size: 0 });
    const reply = await raw(t, 'GET', `/api/v1/blobs/sha256:${EMPTY_SHA256}`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-length')).toBe('0');
    expect(reply.text).toBe('');
    expectError(await raw(t, 'GET', `/api/v1/blobs/sha256:${EMPTY_SHA256}`, { headers: { range: 'bytes=0-0' } }), 416, 'RANGE_NOT_SATISFIABLE');
  });

  describe('refused uploads leave nothing behind', () => {
    it('a ?sha256= that does not match is 422 DIGEST_MISMATCH, in either spelling', async () => {
      const bytes = randomBytes(50_000);
      const claimed = sha256(randomBytes(16));
      for (const spelling of [claimed, `sha256:${claimed}`]) {
        const error = await refusedUpload(() => t.admin.uploadBlob(bytes, { sha256: spelling }), 422, 'DIGEST_MISMATCH');
        expect(error.details).toEqual({ expected: `sha256:${claimed}`, actual: `sha256:${sha256(bytes)}` });
      }
      await expect(stat(blobPath(sha256(bytes)))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(stat(blobPath(claimed))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await filesUnder(join(blobsDir(), 'tmp'))).toEqual([]);
    });

    it('past 8 MiB, written past the page cache and hashed on the worker: a wrong ?sha256= keeps nothing, a right one is stored', async () => {
      const bytes = randomBytes(20 * MiB + 3);
      const claimed = sha256(randomBytes(16));
      const error = await refusedUpload(() => t.admin.uploadBlob(bytes, { sha256: claimed }), 422, 'DIGEST_MISMATCH');
      expect(error.details).toEqual({ expected: `sha256:${claimed}`, actual: `sha256:${sha256(bytes)}` });
      await expect(stat(blobPath(sha256(bytes)))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await filesUnder(join(blobsDir(), 'tmp'))).toEqual([]);
      expect(await t.admin.uploadBlob(bytes, { sha256: sha256(bytes) })).toEqual({ digest: `sha256:${sha256(bytes)}`, size: bytes.length });
      expect((await readFile(blobPath(sha256(bytes)))).equals(bytes)).toBe(true);
    });

    it('a malformed ?sha256= is 400 VALIDATION_FAILED', async () => {
      const bytes = randomBytes(1000);
      for (const claimed of ['xyz', 'A'.repeat(64), `md5:${'a'.repeat(32)}`, 'a'.repeat(63)]) {
        await refusedUpload(() => t.admin.uploadBlob(bytes, { sha256: claimed }), 400, 'VALIDATION_FAILED');
      }
      await expect(stat(blobPath(sha256(bytes)))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('a viewer cannot upload: 403 ROLE_REQUIRED', async () => {
      const bytes = randomBytes(1000);
      await refusedUpload(() => viewer.uploadBlob(bytes), 403, 'ROLE_REQUIRED');
      await expect(stat(blobPath(sha256(bytes)))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('an upload without a valid token is 401 UNAUTHENTICATED', async () => {
      const body = randomBytes(1000);
      for (const token of [null, 'garbage']) {
        await refusedUpload(() => raw(t, 'POST', '/api/v1/blobs', { token, body, contentType: 'application/octet-stream' }), 401, 'UNAUTHENTICATED');
      }
    });

    it.each(['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'image/png'])('an upload as %s is 415 UNSUPPORTED_MEDIA_TYPE', async (contentType) => {
      await refusedUpload(() => raw(t, 'POST', '/api/v1/blobs', { body: '{"bytes": "not really"}', contentType }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('downloads', () => {
    const bytes = Buffer.from('0123456789abcdefghij');
    const hex = sha256(bytes);
    beforeAll(async () => { await t.admin.uploadBlob(bytes); });

    it('stream the bytes back with etag, digest and content-length', async () => {
      const reply = await raw(t, 'GET', `/api/v1/blobs/sha256:${hex}`);
      expect(reply.status).toBe(200);
      expect(reply.text).toBe(bytes.toString());
      expect(reply.headers.get('content-length')).toBe(String(bytes.length));
      expect(reply.headers.get('content-type')).toBe('application/octet-stream');
      expect(reply.headers.get('etag')).toBe(`"sha256:${hex}"`);
      expect(reply.headers.get('digest')).toBe(`sha-256=${createHash('sha256').update(bytes).digest('base64')}`);
      expect(reply.headers.get('accept-ranges')).toBe('bytes');
      expect(await t.admin.downloadBlob(`sha256:${hex}`)).toEqual(new Uint8Array(bytes));
    });

    it.each([
      ['bytes=0-3', 0, 3],
      ['bytes=5-', 5, 19],
      ['bytes=-4', 16, 19],
      ['bytes=10-10', 10, 10],
      ['bytes=15-1000', 15, 19],
      ['bytes=-1000', 0, 19],
    ])('Range %s is 206 with its slice', async (range, start, end) => {
      const reply = await raw(t, 'GET', `/api/v1/blobs/sha256:${hex}`, { headers: { range } });
      expect(reply.status).toBe(206);
      expect(reply.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.length}`);
      expect(reply.headers.get('content-length')).toBe(String(end - start + 1));
      expect(reply.text).toBe(bytes.subarray(start, end + 1).toString());
    });

    it.each(['bytes=1000-', 'bytes=20-', 'bytes=-0'])('Range %s is 416 RANGE_NOT_SATISFIABLE', async (range) => {
      const reply = await raw(t, 'GET', `/api/v1/blobs/sha256:${hex}`, { headers: { range } });
      expectError(reply, 416, 'RANGE_NOT_SATISFIABLE');
      expect(reply.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    });

    it('read through the SDK as they arrive, whole or by range, and a missing one throws ApiError', async () => {
      const collect = async (body: AsyncIterable<Uint8Array>) => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of body) chunks.push(chunk);
        return Buffer.concat(chunks).toString();
      };
      const whole = await viewer.readBlob(`sha256:${hex}`);
      expect([whole.status, whole.headers.get('etag'), await collect(whole.body)]).toEqual([200, `"sha256:${hex}"`, bytes.toString()]);
      const slice = await viewer.readBlob(`sha256:${hex}`, { start: 5, end: 9 });
      expect([slice.status, slice.headers.get('content-range'), await collect(slice.body)]).toEqual([206, `bytes 5-9/${bytes.length}`, '56789']);
      await expect(viewer.readBlob(`sha256:${sha256(randomBytes(8))}`)).rejects.toMatchObject({ status: 404, code: 'BLOB_NOT_FOUND' });
      await expect(new ModelgateClient({ url: t.url }).readBlob(`sha256:${hex}`)).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
      // With a fetch of the caller's own (as in a browser), through fetch's body.
      const viaFetch = new ModelgateClient({ url: t.url, token: t.adminToken, fetch: (input, init) => fetch(input, init) });
      expect(await collect((await viaFetch.readBlob(`sha256:${hex}`, { start: 15 })).body)).toBe('fghij');
      await expect(viaFetch.readBlob(`sha256:${sha256(randomBytes(8))}`)).rejects.toMatchObject({ status: 404, code: 'BLOB_NOT_FOUND' });
    });

    it('an unknown digest is 404 BLOB_NOT_FOUND, with or without its sha256: prefix', async () => {
      const unknown = sha256(randomBytes(8));
      for (const digest of [`sha256:${unknown}`, unknown]) {
        const error = expectError(await raw(t, 'GET', `/api/v1/blobs/${digest}`), 404, 'BLOB_NOT_FOUND');
        expect(error.details).toEqual({ digest });
      }
    });

    it.each([
      'sha256:xyz',
      'notahash',
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'a'.repeat(65)}`,
      `md5:${'a'.repeat(32)}`,
      '..%2F..%2F..%2Fetc%2Fpasswd',
      `sha256:..%2F..%2F${'a'.repeat(58)}`,
      '%2Fetc%2Fpasswd',
    ])('a malformed digest %s is 400 VALIDATION_FAILED', async (digest) => {
      expectError(await raw(t, 'GET', `/api/v1/blobs/${digest}`), 400, 'VALIDATION_FAILED');
    });
  });
});

// The bytes never touch the database, so these run on SQLite alone.
describe('large and interrupted uploads on sqlite', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer('sqlite'); });
  afterAll(async () => { await t?.close(); });

  it('a checked download hands the bytes on as they come, and throws DIGEST_MISMATCH after the last if they are not the blob', async () => {
    const collect = async (body: AsyncIterable<Uint8Array>, into: Uint8Array[] = []) => {
      for await (const chunk of body) into.push(chunk);
      return Buffer.concat(into);
    };
    // Hashed in place, and (from 8 MiB) on a worker thread.
    for (const size of [1_000, 24 * MiB + 7]) {
      const bytes = randomBytes(size);
      const { digest } = await t.admin.uploadBlob(bytes);
      // A reader that stops early lets go of its digest; the next read is unharmed.
      for await (const _chunk of (await t.admin.readVerifiedBlob(digest)).body) break;
      expect((await collect((await t.admin.readVerifiedBlob(digest)).body)).equals(bytes)).toBe(true);

      // The stored file damaged in place, its length kept: every byte arrives, then the error.
      const hex = digest.slice('sha256:'.length);
      const damaged = Buffer.from(bytes);
      damaged[size >> 1]! ^= 0xff;
      await writeFile(join(t.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex), damaged);
      const seen: Uint8Array[] = [];
      await expect(collect((await t.admin.readVerifiedBlob(digest)).body, seen)).rejects.toMatchObject({ status: 0, code: 'DIGEST_MISMATCH' });
      expect(Buffer.concat(seen).equals(damaged)).toBe(true);
    }
  });

  it('a 2 GiB upload streams through with the digest computed while generating it, and server memory stays flat', async () => {
    const chunk = randomBytes(MiB);
    const chunks = 2048;
    const hash = createHash('sha256');
    async function* generate() {
      for (let i = 0; i < chunks; i++) {
        hash.update(chunk);
        yield chunk;
      }
    }
    // The server runs in this process, so this process's RSS is the server's memory.
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 25);
    const started = Date.now();
    let blob;
    try {
      blob = await t.admin.uploadBlob(generate());
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const hex = hash.digest('hex');
    console.log(`2 GiB upload: ${((Date.now() - started) / 1000).toFixed(1)} s, peak RSS growth ${((peak - baseline) / MiB).toFixed(0)} MiB`);
    expect(blob).toEqual({ digest: `sha256:${hex}`, size: 2 * GiB });
    expect(peak - baseline).toBeLessThan(200 * MiB);
    expect((await stat(join(t.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex))).size).toBe(2 * GiB);
    expect(await filesUnder(join(t.dataDir, 'blobs', 'tmp'))).toEqual([]);
    const tail = await t.admin.openBlob(`sha256:${hex}`, { start: 2 * GiB - 16 });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(chunk.subarray(MiB - 16));
  }, 600_000);

  it('an upload the client abandons half way leaves nothing in tmp/ or the store', async () => {
    const blobs = join(t.dataDir, 'blobs');
    const before = await filesUnder(blobs);
    // node:http rather than fetch, to drop the connection exactly as a crashed client would.
    const request = http.request(`${t.url}/api/v1/blobs`, {
      method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream' },
    });
    request.on('error', () => {});
    const closed = new Promise((resolve) => request.once('close', resolve));
    for (let sent = 0; ; sent += 256 * 1024) {
      // Drop the connection only once the server is surely writing the upload to tmp/.
      if (sent >= 8 * MiB && (await filesUnder(join(blobs, 'tmp'))).length > 0) break;
      if (sent > 256 * MiB) throw new Error('the server never began writing the upload to tmp/');
      if (!request.write(randomBytes(256 * 1024))) await new Promise((resolve) => request.once('drain', resolve));
    }
    request.destroy();
    await closed;
    // The server sees the connection drop asynchronously; give it a moment to clean up.
    for (let i = 0; i < 100 && (await filesUnder(blobs)).length !== before.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await filesUnder(blobs)).toEqual(before);
  });

  it('a body past the configured size limit is 413 PAYLOAD_TOO_LARGE, leaves no file, and closes the connection', async () => {
    const small = await startTestServer('sqlite', { maxBlobSize: '1M' });
    try {
      const blobs = join(small.dataDir, 'blobs');
      const exact = randomBytes(MiB);
      expect(await small.admin.uploadBlob(exact)).toEqual({ digest: `sha256:${sha256(exact)}`, size: MiB });
      const before = await filesUnder(blobs);
      const error = await expectRejected(small, () => small.admin.uploadBlob(randomBytes(MiB + 1)), 413, 'PAYLOAD_TOO_LARGE');
      // The SDK sends a byte array's length, so the server refuses it before reading it, and says so.
      expect(error.details).toEqual({ size: MiB + 1, limit: MiB });
      // Refused half way through a stream: the rest of the body is never read, so the connection
      // must not be reused; every request after it, on the same client, still gets its answer.
      async function* stream() { for (let i = 0; i < 16; i++) yield randomBytes(256 * 1024); }
      for (let i = 0; i < 5; i++) await expectRejected(small, () => small.admin.uploadBlob(stream()), 413, 'PAYLOAD_TOO_LARGE');
      // A client that sends its whole body before reading the reply gets the 413 and a closed
      // connection, instead of waiting for ever on a server that stopped reading.
      const request = http.request(`${small.url}/api/v1/blobs`, {
        method: 'POST', headers: { authorization: `Bearer ${small.adminToken}`, 'content-type': 'application/octet-stream' },
      });
      // The server hangs up while this client is still writing: EPIPE here is expected.
      request.on('error', () => {});
      const closed = new Promise((resolve) => request.once('close', resolve));
      const response = new Promise<http.IncomingMessage>((resolve) => request.once('response', resolve));
      for (let i = 0; i < 64 && !request.destroyed; i++) {
        if (!request.write(randomBytes(256 * 1024))) await Promise.race([new Promise((resolve) => request.once('drain', resolve)), closed]);
      }
      request.end();
      const reply = await response;
      let text = '';
      for await (const chunk of reply) text += chunk;
      expect(reply.statusCode).toBe(413);
      expect(reply.headers.connection).toBe('close');
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
      await closed;
      expect(await filesUnder(blobs)).toEqual(before);
    } finally {
      await small.close();
    }
  });
});

describe('reading a blob through a redirect', () => {
  /** A server that answers every request with `answer`, noting each request's path and authorization header. */
  async function listen(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
    const seen: Array<{ path: string; authorization: string | undefined }> = [];
    const server = http.createServer((req, res) => {
      seen.push({ path: req.url!, authorization: req.headers.authorization });
      answer(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { url, seen, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('follows it as fetch does, with the token for its own origin only (a presigned URL has its own)', async () => {
    const storage = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('presigned bytes'));
    const registry = await listen((req, res) => {
      // First to a path of its own, then, as an S3-backed registry does, to another origin.
      if (req.url!.startsWith('/api/')) res.writeHead(307, { location: '/moved?x=1' }).end();
      else res.writeHead(302, { location: `${storage.url}/bucket/blob?X-Amz-Signature=abc` }).end();
    });
    try {
      const { status, body } = await new ModelgateClient({ url: registry.url, token: 'mgt_secret' }).readBlob(`sha256:${'a'.repeat(64)}`);
      const chunks: Uint8Array[] = [];
      for await (const chunk of body) chunks.push(chunk);
      expect([status, Buffer.concat(chunks).toString()]).toEqual([200, 'presigned bytes']);
      expect(registry.seen).toEqual([
        { path: `/api/v1/blobs/sha256%3A${'a'.repeat(64)}`, authorization: 'Bearer mgt_secret' },
        { path: '/moved?x=1', authorization: 'Bearer mgt_secret' },
      ]);
      expect(storage.seen).toEqual([{ path: '/bucket/blob?X-Amz-Signature=abc', authorization: undefined }]);
    } finally {
      await registry.close();
      await storage.close();
    }
  });

  it('gives up after five redirects, and reports a registry it cannot reach as UNREACHABLE', async () => {
    const loop = await listen((_req, res) => res.writeHead(302, { location: '/again' }).end());
    try {
      await expect(new ModelgateClient({ url: loop.url }).readBlob(`sha256:${'a'.repeat(64)}`)).rejects.toMatchObject({ code: 'UNREACHABLE' });
      expect(loop.seen).toHaveLength(6);
    } finally {
      await loop.close();
    }
    await expect(new ModelgateClient({ url: await closedPortUrl() }).readBlob(`sha256:${'a'.repeat(64)}`)).rejects.toMatchObject({ status: 0, code: 'UNREACHABLE' });
  });
});
