/**
 * The hot path (src/server/hot-path.ts) answers resolve and GET version in front of Fastify
 * when it can replay an answer Fastify already gave. These check that a client cannot tell
 * the difference: every request, sent over the socket (where the hot path sits) and through
 * `app.inject` (which goes straight to Fastify), gets the same status, headers and body; and
 * that the limits, freshness and logging rules hold when it answers.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { loadServeConfig } from '../src/server/config.js';
import { startServer, type RunningServer } from '../src/server/main.js';
import { DIALECTS, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

const SOURCE = (n: number) => ({ source_uri: `s3://bucket/m${n}.tar.gz`, digest: `sha256:${String(n).repeat(64)}` });
/** Headers that differ between any two answers, or that only a socket has. */
const VARYING = new Set(['date', 'connection', 'keep-alive', 'x-request-id']);

interface Seen {
  status: number;
  headers: Record<string, string>;
  body: string;
  requestId: string | undefined;
}

async function overSocket(url: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<Seen> {
  const res = await fetch(url + path, { method, headers });
  const all = Object.fromEntries(res.headers);
  return { status: res.status, headers: comparable(all), body: await res.text(), requestId: all['x-request-id'] };
}

/** The same request, handed to Fastify as if it came over the server's socket (same Host). */
async function throughFastify(server: RunningServer, path: string, headers: Record<string, string>, method = 'GET'): Promise<Seen> {
  const res = await server.app.inject({ method: method as 'GET', url: path, headers: { host: new URL(server.url).host, ...headers } });
  const all = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
  return { status: res.statusCode, headers: comparable(all), body: res.body, requestId: all['x-request-id'] };
}

function comparable(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !VARYING.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

async function seed(t: TestServer): Promise<void> {
  await t.admin.createModel({ name: 'fraud' });
  const file = await uploadFile(t.admin, 'model.bin', 'weights');
  await t.admin.createVersion('fraud', { files: [file] });
  await t.admin.createVersion('fraud', SOURCE(2));
  await t.admin.setAlias('fraud', 'champion', 1);
  await t.ship('fraud', 2);
}

describe.each(DIALECTS)('the hot path on $name', ({ name }) => {
  let t: TestServer;
  afterEach(async () => { await t?.close(); });

  it('answers every request as Fastify does, byte for byte', async () => {
    // The rate limit on (its hook runs for every request through Fastify), with room for the test.
    t = await startTestServer(name, { rateLimit: '1000000', rateLimitBurst: '1000000' });
    await seed(t);
    const bearer = { authorization: `Bearer ${t.adminToken}` };
    const etag = (await overSocket(t.url, '/api/v1/models/fraud/resolve?ref=production', bearer)).headers.etag!;
    const basic = { authorization: `Basic ${Buffer.from(`admin:${t.adminToken}`).toString('base64')}` };
    // [path, extra headers, whether the hot path may answer it once warm (SQLite)]
    const cases: [string, Record<string, string>, boolean][] = [
      ['/api/v1/models/fraud/resolve?ref=production', {}, true],
      ['/api/v1/models/fraud/resolve?ref=%40champion', {}, true],
      ['/api/v1/models/fraud/resolve?ref=@champion', {}, true],
      ['/api/v1/models/fraud/resolve?ref=1', {}, true],
      ['/api/v1/models/fraud/versions/1', {}, true],
      ['/api/v1/models/fraud/versions/2', { 'x-request-id': 'deploy-42' }, true],
      ['/api/v1/models/fraud/resolve?ref=production', { 'if-none-match': etag }, true],
      ['/api/v1/models/fraud/resolve?ref=production', { 'if-none-match': `"other", W/${etag}` }, true],
      ['/api/v1/models/fraud/resolve?ref=production', { 'if-none-match': '*' }, true],
      ['/api/v1/models/fraud/resolve?ref=production', { 'if-none-match': '"other"' }, true],
      ['/api/v1/models/fraud/resolve?ref=production', { 'x-request-id': 'not a valid id!' }, true],
      ['/api/v1/models/fraud/resolve?ref=staging', {}, false],
      ['/api/v1/models/fraud/resolve?ref=%40nobody', {}, false],
      ['/api/v1/models/fraud/resolve?ref=01', {}, false],
      ['/api/v1/models/fraud/resolve?ref=production&ref=staging', {}, false],
      ['/api/v1/models/fraud/resolve?ref=production&extra=1', {}, false],
      ['/api/v1/models/fraud/resolve?ref=', {}, false],
      ['/api/v1/models/fraud/resolve', {}, false],
      ['/api/v1/models/fraud/resolve/?ref=production', {}, false],
      ['/api/v1/models/fr%61ud/resolve?ref=production', {}, false],
      ['/api/v1/models/nobody/resolve?ref=production', {}, false],
      ['/api/v1/models/fraud/versions/01', {}, false],
      ['/api/v1/models/fraud/versions/9', {}, false],
      ['/api/v1/models/fraud/versions/1?x=1', {}, false],
      ['/api/v1/models/fraud/versions/99999999999', {}, false],
    ];
    const auths: [Record<string, string>, boolean][] = [
      [bearer, true],
      [{ authorization: `bearer ${t.adminToken}` }, false],
      [{ authorization: `Bearer  ${t.adminToken}` }, false],
      [basic, false],
      [{ authorization: 'Bearer mgt_unknown' }, false],
      [{}, false],
    ];
    for (const [path, extra, hot] of cases) {
      for (const [auth, hotAuth] of auths) {
        const headers = { ...auth, ...extra };
        const expected = name === 'sqlite' && hot && hotAuth ? 1 : 0;
        let socket: Seen;
        let served: number;
        // The hot path replays only what was answered since the last commit: warm it first. The
        // webhook dispatcher may still be committing its fan-out of the seed's events.
        for (let attempt = 0; ; attempt++) {
          await overSocket(t.url, path, headers);
          const before = t.server.app.hotPathServed() ?? 0;
          socket = await overSocket(t.url, path, headers);
          served = (t.server.app.hotPathServed() ?? 0) - before;
          if (served === expected || attempt === 2) break;
        }
        const fastify = await throughFastify(t.server, path, headers);
        const what = `${path} ${JSON.stringify(headers)}`;
        // Error bodies carry their request's id, which differs from one request to the next.
        const body = (seen: Seen) => (seen.requestId ? seen.body.replaceAll(seen.requestId, '<request id>') : seen.body);
        expect({ what, status: socket.status, headers: socket.headers, body: body(socket) })
          .toEqual({ what, status: fastify.status, headers: fastify.headers, body: body(fastify) });
        if (extra['x-request-id'] === 'deploy-42') expect(socket.requestId).toBe('deploy-42');
        else expect(socket.requestId).toMatch(/^[0-9a-f-]{36}$/);
        expect({ what, served }).toEqual({ what, served: expected });
      }
    }
    // HEAD goes to Fastify, which answers it from the GET route.
    const head = await overSocket(t.url, '/api/v1/models/fraud/resolve?ref=production', bearer, 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it('answers the request after a promotion, an alias move or a revocation with the change', async () => {
    t = await startTestServer(name);
    await seed(t);
    await t.admin.createVersion('fraud', SOURCE(3));
    const deployer = await t.as('viewer', 'deployer');
    const resolved = async (ref: string) => (await deployer.resolve('fraud', ref))!.resolved.version;
    for (let i = 0; i < 3; i++) expect([await resolved('production'), await resolved('@champion')]).toEqual([2, 1]);
    await t.ship('fraud', 3);
    await t.admin.setAlias('fraud', 'champion', 2);
    expect([await resolved('production'), await resolved('@champion')]).toEqual([3, 2]);
    const token = await t.admin.createToken({ username: 'deployer', name: 'rollout' });
    const rollout = new ModelgateClient({ url: t.url, token: token.token });
    for (let i = 0; i < 3; i++) expect((await rollout.resolve('fraud', 'production'))!.resolved.version).toBe(3);
    await t.admin.revokeToken(token.id);
    const refused = await fetch(`${t.url}/api/v1/models/fraud/resolve?ref=production`, { headers: { authorization: `Bearer ${token.token}` } });
    expect(refused.status).toBe(401);
    expect(t.server.app.hotPathServed()).toSatisfy((n) => (name === 'sqlite' ? n! >= 4 : n === null));
  });

  it('hands the request to Fastify when it fails itself', async () => {
    t = await startTestServer(name);
    await seed(t);
    for (let i = 0; i < 3; i++) await t.admin.resolve('fraud', 'production');
    const served = t.server.app.hotPathServed();
    const identity = t.server.registry.identity;
    identity.rememberedActor = () => { throw new Error('the database is gone'); };
    expect((await t.admin.resolve('fraud', 'production'))!.resolved.version).toBe(2);
    expect(t.server.app.hotPathServed()).toBe(served);
  });

  it('takes from the rate limit as Fastify does, and steps aside for the failed-authentication brake', async () => {
    t = await startTestServer(name, { rateLimit: '60', rateLimitBurst: '30', authFailureLimit: '2' });
    await seed(t);
    const path = `${t.url}/api/v1/models/fraud/resolve?ref=production`;
    const statuses = async (token: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await fetch(path, { headers: { authorization: `Bearer ${token}` } })).status);
      return out;
    };
    const viewer = await t.admin.createToken({ name: 'limited' }); // a bucket of its own
    expect(await statuses(viewer.token, 32)).toEqual([...Array(30).fill(200), 429, 429]);
    const limited = await fetch(path, { headers: { authorization: `Bearer ${viewer.token}` } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // PostgreSQL checks a remembered answer with a round trip: no hot path there.
    expect(t.server.app.hotPathServed()).toSatisfy((n) => (name === 'sqlite' ? n! > 0 : n === null));

    const other = await t.admin.createToken({ name: 'other' });
    expect(await statuses(other.token, 2)).toEqual([200, 200]);
    expect(await statuses('mgt_guessed', 2)).toEqual([401, 401]);
    // This address failed twice within the minute: every request from it waits, good token or not.
    expect(await statuses(other.token, 2)).toEqual([429, 429]);
  });
});

describe('the hot path and request logging', () => {
  let server: RunningServer | undefined;
  afterEach(async () => { await server?.close(); });

  it.each(['info', 'warn'])('is off where every request is logged, so none goes unlogged (level %s)', async (level) => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
    const config = loadServeConfig({ port: '0', dataDir: await mkdtemp(join(tmpdir(), 'modelgate-test-')) }, {});
    server = await startServer(config, { logger: { level, stream } });
    const admin = new ModelgateClient({ url: server.url, token: server.adminToken! });
    await admin.createModel({ name: 'fraud' });
    await admin.createVersion('fraud', SOURCE(1));
    for (let i = 0; i < 3; i++) await admin.resolve('fraud', '1');
    const logged = lines.filter((l) => l.includes('incoming request') && l.includes('/resolve?ref=1'));
    if (level === 'info') {
      expect(server.app.hotPathServed()).toBeNull();
      expect(logged).toHaveLength(3);
    } else {
      expect(server.app.hotPathServed()).toBeGreaterThan(0);
      expect(logged).toHaveLength(0);
    }
  });
});

describe('the hot path behind a trusted proxy', () => {
  let t: TestServer;
  afterEach(async () => { await t?.close(); });

  it('links downloads to the host and scheme the proxy says, request by request', async () => {
    t = await startTestServer('sqlite', { trustProxy: 'true' });
    await seed(t);
    const path = '/api/v1/models/fraud/resolve?ref=1';
    const url = (seen: Seen) => (JSON.parse(seen.body) as { files: { url: string }[] }).files[0]!.url;
    const headers = (host?: string, proto?: string) => ({
      authorization: `Bearer ${t.adminToken}`,
      ...(host && { 'x-forwarded-host': host }), ...(proto && { 'x-forwarded-proto': proto }),
    });
    for (const [host, proto] of [['a.example', 'https'], ['b.example', 'https'], ['b.example', undefined], [undefined, 'https'], ['x.example, c.example', 'http, https']]) {
      for (let i = 0; i < 2; i++) {
        const socket = await overSocket(t.url, path, headers(host, proto));
        const fastify = await throughFastify(t.server, path, headers(host, proto));
        expect(url(socket)).toBe(url(fastify));
        expect(socket).toMatchObject({ status: 200, headers: fastify.headers });
      }
    }
    expect(url(await overSocket(t.url, path, headers('x.example, c.example', 'http, https')))).toMatch(/^https:\/\/c\.example\/api\/v1\/blobs\/sha256:/);
    expect(t.server.app.hotPathServed()).toBeGreaterThan(0);
  });

  it('ignores what a client that is not a trusted proxy says', async () => {
    t = await startTestServer('sqlite', { trustProxy: '10.0.0.1' });
    await seed(t);
    const forged = { authorization: `Bearer ${t.adminToken}`, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    for (let i = 0; i < 3; i++) {
      const seen = await overSocket(t.url, '/api/v1/models/fraud/resolve?ref=1', forged);
      expect((JSON.parse(seen.body) as { files: { url: string }[] }).files[0]!.url.startsWith(`${t.url}/api/v1/blobs/`)).toBe(true);
    }
    expect(t.server.app.hotPathServed()).toBeGreaterThan(0);
  });
});
