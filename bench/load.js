#!/usr/bin/env node
// A realistic mix against a registry of 1,000 models and 100,000 versions: 90% resolve and
// other reads, 9% version creates and metadata edits, 1% promotions (request, then approval
// by a second user), on SQLite with one server and on PostgreSQL with one and two servers.
// Reports requests/s, p50/p99/p99.9 latency, errors (must be 0) and each server's peak RSS.
// Rows are seeded with bulk SQL; every request of the run goes through the real server.
// Usage: node bench/load.js [--duration 15] [--connections 32] [--postgres postgres://...]
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { dropSchema, pgSchema, spawnServer, stopServer } from './lib.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    postgres: { type: 'string', default: process.env.MODELGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const MODELS = 1000;
const PER_MODEL = 100;
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const bin = join(import.meta.dirname, '..', 'bin', 'modelgate.js');
const FLAGS = ['--rate-limit', '0'];

const COLUMNS = {
  models: ['id', 'name', 'description', 'tags', 'owner', 'intended_use', 'restrictions', 'risk_tier', 'archived', 'created_by', 'created_at', 'updated_at', 'last_version', 'responsible', 'validation_status', 'last_validated_at', 'next_validation_due', 'validity_period', 'policy_exceptions'],
  versions: ['id', 'model_id', 'version', 'digest', 'status', 'stage', 'files', 'source_uri', 'metrics', 'params', 'tags', 'description', 'model_card', 'signature', 'lineage', 'created_by', 'created_at', 'updated_at', 'left_development_at', 'deleted_at', 'degraded_at'],
};

/** 1,000 models of 100 versions each: the last in production, the one before in staging. */
function seedRows() {
  const now = new Date().toISOString();
  const models = [];
  const versions = [];
  for (let m = 0; m < MODELS; m++) {
    const modelId = randomUUID();
    models.push([modelId, `model-${String(m).padStart(4, '0')}`, '', '{}', 'admin', '', '', null, 0, 'admin', now, now, PER_MODEL, '[]', 'not_validated', null, null, null, '[]']);
    for (let v = 1; v <= PER_MODEL; v++) {
      const stage = v === PER_MODEL ? 'production' : v === PER_MODEL - 1 ? 'staging' : 'development';
      versions.push([randomUUID(), modelId, v, `sha256:${String(v).padStart(64, '0')}`, 'ready', stage, '[]', `s3://bench/model-${m}/${v}`, `{"auc":${0.8 + (v % 20) / 100}}`, '{}', '{}', '', null, null,
        '{"datasets":[],"code":null,"run":null,"parents":[]}', 'admin', now, now, stage === 'development' ? null : now, null, null]);
    }
  }
  return { models, versions };
}

function seedSqlite(file, rows) {
  const db = new SQLite(file);
  for (const table of ['models', 'versions']) {
    const cols = COLUMNS[table];
    const stmt = db.prepare(`insert into ${table} (${cols.join(',')}) values (${cols.map(() => '?').join(',')})`);
    db.transaction(() => { for (const r of rows[table]) stmt.run(...r); })();
  }
  db.close();
}

async function seedPostgres(url, schema, rows) {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  for (const table of ['models', 'versions']) {
    const cols = COLUMNS[table];
    for (let i = 0; i < rows[table].length; i += 1000) {
      const chunk = rows[table].slice(i, i + 1000);
      const tuples = chunk.map((_, r) => `(${cols.map((__, c) => `$${r * cols.length + c + 1}`).join(',')})`).join(',');
      await client.query(`insert into ${table} (${cols.join(',')}) values ${tuples}`, chunk.flat());
    }
  }
  await client.query('analyze');
  await client.end();
}

/** Peak resident memory of a process, in MiB (VmHWM). */
async function peakRss(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
}

/**
 * One cycle of 100 requests per connection, in this proportion: 60 resolves, 15 version
 * reads, 10 version lists, 5 model reads (90 reads); 5 version creates and 4 metadata edits
 * (9 writes); one promotion of the version the cycle created, approved by the approver (1).
 * Each connection works on its own models, as teams do, so promotions do not race each other.
 */
function mix(tokens, firstModel) {
  let next = firstModel;
  const json = (method, path, body, token = tokens.admin) => ({
    method, path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const model = (context) => {
    context.models ??= Array.from({ length: 5 }, () => `model-${String(next++ % MODELS).padStart(4, '0')}`);
    context.i = ((context.i ?? 0) + 1) % 5;
    return context.models[context.i];
  };
  const reads = [];
  for (let i = 0; i < 60; i++) reads.push({ setupRequest: (req, c) => ({ ...req, ...json('GET', `/api/v1/models/${model(c)}/resolve?ref=production`) }) });
  for (let i = 0; i < 15; i++) reads.push({ setupRequest: (req, c) => ({ ...req, ...json('GET', `/api/v1/models/${model(c)}/versions/${1 + (i * 7) % PER_MODEL}`) }) });
  for (let i = 0; i < 10; i++) reads.push({ setupRequest: (req, c) => ({ ...req, ...json('GET', `/api/v1/models/${model(c)}/versions?page_size=20`) }) });
  for (let i = 0; i < 5; i++) reads.push({ setupRequest: (req, c) => ({ ...req, ...json('GET', `/api/v1/models/${model(c)}`) }) });
  const writes = [];
  for (let i = 0; i < 5; i++) {
    writes.push({
      setupRequest: (req, c) => { c.created = model(c); return { ...req, ...json('POST', `/api/v1/models/${c.created}/versions`, { source_uri: `s3://bench/new/${randomUUID()}`, digest: `sha256:${randomUUID().replace(/-/g, '').padEnd(64, '0')}`, metrics: { auc: 0.93 } }) }; },
      onResponse: (status, body, c) => { if (status === 201) c.version = JSON.parse(body).version; },
    });
  }
  for (let i = 0; i < 4; i++) {
    writes.push(i % 2 === 0
      ? { setupRequest: (req, c) => ({ ...req, ...json('PATCH', `/api/v1/models/${model(c)}`, { description: `edited ${Date.now()}` }) }) }
      : { setupRequest: (req, c) => ({ ...req, ...json('PATCH', `/api/v1/models/${c.created}/versions/${c.version}`, { tags: { reviewed: 'yes' } }) }) });
  }
  const promotion = [
    {
      setupRequest: (req, c) => ({ ...req, ...json('POST', `/api/v1/models/${c.created}/versions/${c.version}/promotions`, { target: 'production', reason: 'load test release' }) }),
      onResponse: (status, body, c) => { if (status === 201) c.promotion = JSON.parse(body).id; },
    },
    { setupRequest: (req, c) => ({ ...req, ...json('POST', `/api/v1/promotions/${c.promotion}/approve`, { comment: 'ok' }, tokens.approver) }) },
  ];
  // Reads interleaved with writes, the promotion last (it needs the cycle's version).
  const cycle = [];
  for (let i = 0; i < 90; i++) {
    cycle.push(reads[i]);
    if (i % 10 === 9 && writes.length) cycle.push(writes.shift());
  }
  cycle.push(...writes, ...promotion);
  return cycle;
}

function run(url, tokens, firstModel, connections) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: DURATION, requests: mix(tokens, firstModel) }, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on('response', () => {});
  });
}

async function bench(name, serveArgs, seed, servers) {
  const first = await spawnServer([bin, 'serve', '--port', '0', ...serveArgs, ...FLAGS]);
  const dataDir = serveArgs[serveArgs.indexOf('--data-dir') + 1];
  const adminToken = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const call = async (path, body) => {
    const res = await fetch(first.url + path, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  await call('/api/v1/users', { username: 'approver', role: 'approver' });
  const approverToken = (await call('/api/v1/tokens', { username: 'approver', name: 'load' })).token;
  await stopServer(first);
  const seeded = performance.now();
  await seed(seedRows());
  const seedSeconds = (performance.now() - seeded) / 1000;
  const procs = [];
  for (let i = 0; i < servers; i++) procs.push(await spawnServer([bin, 'serve', '--port', '0', ...serveArgs, ...FLAGS]));
  const tokens = { admin: adminToken, approver: approverToken };
  // Warm up the caches and the JIT, then measure.
  await Promise.all(procs.map((p, i) => new Promise((r) => autocannon({ url: p.url, connections: 4, duration: 2, requests: mix(tokens, 900 + i * 40) }, r))));
  const share = Math.max(1, Math.floor(CONNECTIONS / servers));
  const results = await Promise.all(procs.map((p, i) => run(p.url, tokens, i * Math.floor(MODELS / servers), share)));
  const rss = await Promise.all(procs.map((p) => peakRss(p.child.pid)));
  for (const p of procs) await stopServer(p);
  const sum = (f) => results.reduce((a, r) => a + f(r), 0);
  const max = (f) => Math.max(...results.map(f));
  return {
    db: name, servers, connections: share * servers, seed_s: Number(seedSeconds.toFixed(1)),
    requests: sum((r) => r.requests.total), rps: Math.round(sum((r) => r.requests.average)),
    p50_ms: max((r) => r.latency.p50), p99_ms: max((r) => r.latency.p99), p999_ms: max((r) => r.latency.p99_9),
    errors: sum((r) => r.errors + r.timeouts + r.non2xx), rss_mib: rss.map((m) => Math.round(m)),
  };
}

const dir = await mkdtemp(join(tmpdir(), 'modelgate-bench-load-'));
const results = [];
results.push(await bench('sqlite', ['--data-dir', join(dir, 'sqlite')], (rows) => seedSqlite(join(dir, 'sqlite', 'modelgate.db'), rows), 1));
for (const servers of [1, 2]) {
  const schema = `bench_load_${process.pid}_${servers}`;
  try {
    const url = await pgSchema(values.postgres, schema);
    results.push(await bench('postgres', ['--data-dir', join(dir, `pg${servers}`), '--database', url, '--blobs', join(dir, 'blobs')], (rows) => seedPostgres(values.postgres, schema, rows), servers));
  } catch (err) {
    console.log(`PostgreSQL with ${servers} server(s) skipped: ${err.message}`);
  } finally {
    await dropSchema(values.postgres, schema);
  }
}
console.log(`\nmodelgate load: ${MODELS} models x ${PER_MODEL} versions; 90% reads, 9% creates and edits, 1% promotions; ${DURATION} s per run\n`);
console.log('db        servers  conns  requests     req/s   p50 ms   p99 ms  p99.9 ms  errors  peak RSS MiB');
for (const r of results) {
  console.log(`${r.db.padEnd(9)} ${String(r.servers).padStart(7)} ${String(r.connections).padStart(6)} ${String(r.requests).padStart(9)} ${String(r.rps).padStart(9)} ${String(r.p50_ms).padStart(8)} ${String(r.p99_ms).padStart(8)} ${String(r.p999_ms).padStart(9)} ${String(r.errors).padStart(7)}  ${r.rss_mib.join(' + ')}`);
}
await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
await writeFile(join(import.meta.dirname, 'results', 'load.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
await rm(dir, { recursive: true, force: true });
if (results.some((r) => r.errors > 0)) process.exitCode = 1;
