/**
 * Limits that protect the server: body size per route, JSON nesting, per-token rate limits,
 * a brake on token guessing, slow clients, and a graceful stop of a real `modelgate serve`.
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';
import { createStore, type Store } from './helpers/process.js';

async function call(url: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

describe.each(DIALECTS)('limits ($name)', ({ name }) => {
  describe('body sizes and nesting', () => {
    let t: TestServer;
    beforeAll(async () => { t = await startTestServer(name); await t.admin.createModel({ name: 'big' }); });
    afterAll(async () => { await t.close(); });

    it('takes a 10,000-file manifest (over the 1 MiB default) on the version route, and refuses 1 MiB elsewhere', async () => {
      const file = await uploadFile(t.admin, 'x', 'same bytes');
      const files = Array.from({ length: 10_000 }, (_, i) => ({ ...file, path: `shards/part-${String(i).padStart(5, '0')}-of-10000.safetensors` }));
      expect(JSON.stringify({ files }).length).toBeGreaterThan(1024 * 1024);
      const version = await t.admin.createVersion('big', { files });
      expect(version.files).toHaveLength(10_000);
      const tooBig = await call(t.url, t.adminToken, 'PATCH', '/api/v1/models/big', { description: 'd'.repeat(1024 * 1024) });
      expect(tooBig.status).toBe(413);
      expect(tooBig.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('refuses JSON nested deeper than 64 levels with 400 VALIDATION_FAILED, and changes nothing', async () => {
      const before = await t.admin.listVersions('big');
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      const res = await call(t.url, t.adminToken, 'POST', '/api/v1/models/big/versions', `{"source_uri":"s3://b/k","digest":"sha256:${'a'.repeat(64)}","signature":${deep}}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toMatch(/deeper than 64/);
      // Brackets inside strings are text, not nesting.
      const fine = await call(t.url, t.adminToken, 'POST', '/api/v1/models/big/versions', { source_uri: 's3://b/k', digest: `sha256:${'a'.repeat(64)}`, description: '['.repeat(5000), signature: { inputs: [[[1]]] } });
      expect(fine.status).toBe(201);
      expect((await t.admin.listVersions('big')).versions).toHaveLength(before.versions.length + 1);
    });
  });

  describe('rate limits', () => {
    let t: TestServer;
    beforeAll(async () => { t = await startTestServer(name, { rateLimit: '60', rateLimitBurst: '5', authFailureLimit: '3' }); });
    afterAll(async () => { await t.close(); });

    it('gives each token its burst, then 429 RATE_LIMITED with Retry-After; other tokens and /healthz are unaffected', async () => {
      // Creating the users spends admin requests; a fresh token gets a full bucket.
      const viewer = await t.as('viewer', 'limited');
      const other = await t.as('viewer', 'unlimited');
      const token = (viewer as unknown as { token: string }).token ?? '';
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof call>> | null = null;
      for (let i = 0; i < 7; i++) {
        last = await call(t.url, token, 'GET', '/api/v1/models');
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(last!.body.error.code).toBe('RATE_LIMITED');
      const retryAfter = Number(last!.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(2);
      expect(last!.body.error.details).toEqual({ retry_after_seconds: retryAfter });
      // MLflow clients get MLflow's code for it.
      const mlflow = await call(t.url, token, 'GET', '/api/2.0/mlflow/registered-models/search');
      expect(mlflow.status).toBe(429);
      expect(mlflow.body.error_code).toBe('REQUEST_LIMIT_EXCEEDED');
      expect((await other.listModels()).models).toBeDefined();
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    });

    it('after 3 failed authentications an address gets 429 before its token is even looked at', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await call(t.url, `mgt_forged${i}`, 'GET', '/api/v1/whoami');
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
      }
      const guessed = await call(t.url, 'mgt_forged4', 'GET', '/api/v1/whoami');
      expect(guessed.status).toBe(429);
      expect(guessed.body.error.code).toBe('RATE_LIMITED');
      expect(Number(guessed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    });
  });

  describe('slow clients', () => {
    let t: TestServer;
    beforeAll(async () => { t = await startTestServer(name, { idleTimeoutMs: '400', headersTimeoutMs: '1500' }); });
    afterAll(async () => { await t.close(); });

    /** Opens a raw connection, sends `text`, then nothing; resolves with what it got once the server closed it. */
    function stall(text: string): Promise<string> {
      const { port } = new URL(t.url);
      return new Promise((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
        let got = '';
        socket.on('data', (c) => { got += c.toString(); });
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
        setTimeout(() => { socket.destroy(); reject(new Error('the server kept a stalled connection open for 10 s')); }, 10_000);
      });
    }

    it('closes a connection whose headers stop half way', async () => {
      await stall('GET /api/v1/models HTTP/1.1\r\nHost: x\r\n');
    });

    it('closes a connection whose body stops half way, and nothing is stored', async () => {
      const before = (await t.admin.listModels()).models.length;
      const body = JSON.stringify({ name: 'never-finished' });
      await stall(`POST /api/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      expect((await t.admin.listModels()).models.length).toBe(before);
    });

    it('cuts off a client that trickles its headers past the headers timeout', async () => {
      const { port } = new URL(t.url);
      const closed = await new Promise<boolean>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        let i = 0;
        // One byte every 200 ms keeps the connection from ever being idle.
        const timer = setInterval(() => { if (!socket.destroyed) socket.write(i++ === 0 ? 'GET /healthz HTTP/1.1\r\n' : 'X'); }, 200);
        socket.on('close', () => { clearInterval(timer); resolve(true); });
        socket.on('error', () => {});
        setTimeout(() => { clearInterval(timer); socket.destroy(); resolve(false); }, 10_000);
      });
      expect(closed).toBe(true);
    });
  });
});

describe('graceful shutdown of modelgate serve (SIGTERM)', () => {
  let store: Store;
  beforeAll(async () => { store = await createStore('sqlite'); });
  afterAll(async () => { await store.close(); });

  it('stops accepting, lets an upload in flight finish, ends event streams, settles the webhook send in flight, exits 0', async () => {
    // A receiver that holds the first delivery until told to answer.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => { release = resolve; });
    let hooked: (() => void) | null = null;
    const gotHook = new Promise<void>((resolve) => { hooked = resolve; });
    const bodies: string[] = [];
    const receiver = createServer((req, res: ServerResponse) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', async () => {
        bodies.push(body);
        hooked?.();
        await held;
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

    const server = await store.serve(['--allow-webhook-hosts', '127.0.0.1']);
    const token = await store.adminToken();
    const admin = new ModelgateClient({ url: server.url, token });
    const hook = await admin.createWebhook({ url: hookUrl, events: ['model.*'] });
    await admin.createModel({ name: 'in-flight' });
    await gotHook;

    // An upload whose first half is sent before the signal and the rest after it.
    const bytes = Buffer.alloc(256 * 1024, 7);
    const { port } = new URL(server.url);
    let finishUpload: () => void = () => {};
    const upload = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/blobs', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': bytes.length } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.write(bytes.subarray(0, 128 * 1024));
      finishUpload = () => req.end(bytes.subarray(128 * 1024));
    });
    const stream = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
    const streamEnded = stream.text();
    await new Promise((r) => setTimeout(r, 200));

    server.child.kill('SIGTERM');
    // No new connections once it is stopping.
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      try {
        await fetch(`${server.url}/healthz`, { headers: { connection: 'close' } });
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        refused = true;
      }
    }
    expect(refused).toBe(true);
    await streamEnded; // the event stream was ended by the server, not left hanging
    finishUpload();
    const uploaded = await upload;
    expect(uploaded.status).toBe(201);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    expect(JSON.parse(uploaded.body).digest).toBe(digest);
    // Still running: the dispatcher waits for the send in flight.
    expect(server.child.exitCode).toBeNull();
    release();
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/SIGTERM received/);
    expect(server.output()).toMatch(/stopped/);
    receiver.close();

    // After a restart: the delivery was settled as delivered, once; the blob is there.
    const again = await store.serve();
    const client = new ModelgateClient({ url: again.url, token });
    const { deliveries } = await client.listDeliveries(hook.id);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(bodies).toHaveLength(1);
    const got = await fetch(`${again.url}/api/v1/blobs/${digest}`, { headers: { authorization: `Bearer ${token}` } });
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    expect(await again.stop()).toBe(0);
  });

  it('refuses to start with a bad limit flag, in one line', async () => {
    for (const [args, pattern] of [
      [['--rate-limit', '-1'], /--rate-limit must be an integer/],
      [['--headers-timeout-ms', '5000', '--request-timeout-ms', '1000'], /--request-timeout-ms \(1000\) must be 0 or at least/],
      [['--trust-proxy', 'not an address'], /--trust-proxy must be/],
    ] as const) {
      const failed = await store.serve([...args]).then(() => null, (err: Error) => err.message);
      expect(failed).toMatch(/exited with 2/);
      expect(failed).toMatch(pattern);
    }
  });
});
