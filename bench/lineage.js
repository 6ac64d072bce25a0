#!/usr/bin/env node
// Lineage at scale: 1,000 models and 100,000 versions, one dataset version used directly by
// 10,000 of them and inherited by fine-tuned descendants, on SQLite and (when reachable) on
// PostgreSQL. Measures GET /api/v1/impact and GET .../lineage through the real server.
// Rows are seeded with bulk SQL (a read benchmark; the write path is measured in run.js).
// Usage: node bench/lineage.js [--postgres postgres://postgres@127.0.0.1:5432/test]
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnServer, stopServer } from './lib.js';
import SQLite from 'better-sqlite3';
import pg from 'pg';

const { values } = parseArgs({ options: { postgres: { type: 'string', default: process.env.MODELGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' } } });
const MODELS = 1000;
const PER_MODEL = 100;
const HOT = 10_000; // versions trained directly on the "biased" dataset version
const bin = join(import.meta.dirname, '..', 'bin', 'modelgate.js');

function serve(args) {
  return spawnServer([bin, 'serve', '--port', '0', ...args]);
}
const stop = stopServer;

/** The rows to insert, as [table, columns, rows]. */
function seedRows() {
  const now = new Date().toISOString();
  const models = [];
  const versions = [];
  const edges = [];
  const parents = [];
  const datasets = [
    { id: randomUUID(), name: 'transactions', version: 'biased' },
    { id: randomUUID(), name: 'transactions', version: 'clean' },
  ];
  let n = 0;
  for (let m = 0; m < MODELS; m++) {
    const modelId = randomUUID();
    models.push([modelId, `model-${String(m).padStart(4, '0')}`, '', '{}', 'admin', '', '', null, 0, 'admin', now, now, PER_MODEL, '[]', 'not_validated', null, null, null, '[]']);
    let previous = null;
    for (let v = 1; v <= PER_MODEL; v++, n++) {
      const id = randomUUID();
      const stage = v === PER_MODEL ? 'production' : v === PER_MODEL - 1 ? 'staging' : 'development';
      versions.push([id, modelId, v, `sha256:${'0'.repeat(64)}`, 'ready', stage, '[]', 's3://bench/m', `{"auc":${0.8 + (v % 20) / 100}}`, '{}', '{}', '', null, null,
        '{"datasets":[],"code":null,"run":null,"parents":[]}', 'admin', now, now, stage === 'development' ? null : now, null, null]);
      // Every tenth model's versions are fine-tuned from the one before: chains to inherit through.
      if (m % 10 === 0 && previous) parents.push([id, previous, 'fine_tuned_from']);
      edges.push([id, n < HOT ? datasets[0].id : datasets[1].id, 'train']);
      previous = id;
    }
  }
  return {
    models, versions, edges, parents,
    datasets: datasets.map((d) => [d.id, d.name, d.version, null, null, null, '', null, '{}', 'admin', now]),
  };
}

const TABLES = {
  models: ['id', 'name', 'description', 'tags', 'owner', 'intended_use', 'restrictions', 'risk_tier', 'archived', 'created_by', 'created_at', 'updated_at', 'last_version', 'responsible', 'validation_status', 'last_validated_at', 'next_validation_due', 'validity_period', 'policy_exceptions'],
  versions: ['id', 'model_id', 'version', 'digest', 'status', 'stage', 'files', 'source_uri', 'metrics', 'params', 'tags', 'description', 'model_card', 'signature', 'lineage', 'created_by', 'created_at', 'updated_at', 'left_development_at', 'deleted_at', 'degraded_at'],
  datasets: ['id', 'name', 'version', 'uri', 'digest', 'size', 'description', 'schema', 'tags', 'created_by', 'created_at'],
  version_datasets: ['version_id', 'dataset_id', 'role'],
  version_parents: ['version_id', 'parent_id', 'relation'],
};

async function seedSqlite(file, rows) {
  const db = new SQLite(file);
  const insert = (table, list) => {
    const stmt = db.prepare(`insert into ${table} (${TABLES[table].join(',')}) values (${TABLES[table].map(() => '?').join(',')})`);
    db.transaction(() => { for (const r of list) stmt.run(...r); })();
  };
  insert('models', rows.models); insert('versions', rows.versions); insert('datasets', rows.datasets);
  insert('version_datasets', rows.edges); insert('version_parents', rows.parents);
  db.close();
}

async function seedPostgres(url, schema, rows) {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  for (const [table, list] of [['models', rows.models], ['versions', rows.versions], ['datasets', rows.datasets], ['version_datasets', rows.edges], ['version_parents', rows.parents]]) {
    const cols = TABLES[table];
    for (let i = 0; i < list.length; i += 1000) {
      const chunk = list.slice(i, i + 1000);
      const params = chunk.flat();
      const tuples = chunk.map((_, r) => `(${cols.map((__, c) => `$${r * cols.length + c + 1}`).join(',')})`).join(',');
      await client.query(`insert into ${table} (${cols.join(',')}) values ${tuples}`, params);
    }
  }
  await client.query('analyze');
  await client.end();
}

async function measure(url, token, path, runs = 20) {
  const times = [];
  let body;
  for (let i = 0; i < runs + 3; i++) {
    const start = performance.now();
    const res = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
    body = await res.json();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    if (i >= 3) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)], p99: times[times.length - 1], body };
}

async function bench(name, serveArgs, seed) {
  const first = await serve(serveArgs);
  await stop(first);
  const rows = seedRows();
  const seeded = performance.now();
  await seed(rows);
  const seedSeconds = (performance.now() - seeded) / 1000;
  const server = await serve(serveArgs);
  const dataDir = serveArgs[serveArgs.indexOf('--data-dir') + 1];
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const hot = await measure(server.url, token, '/api/v1/impact?dataset=transactions@biased');
  const small = await measure(server.url, token, '/api/v1/impact?parent=model-0000@1');
  const upstream = await measure(server.url, token, '/api/v1/models/model-0000/versions/100/lineage?depth=50');
  await stop(server);
  return [
    { db: name, query: `impact of a dataset version used by ${HOT.toLocaleString()} versions (+ descendants)`, affected: hot.body.affected.length, p50_ms: hot.p50, p99_ms: hot.p99 },
    { db: name, query: 'impact of a parent version (a 99-deep fine-tuning chain)', affected: small.body.affected.length, p50_ms: small.p50, p99_ms: small.p99 },
    { db: name, query: 'upstream lineage of a version 99 generations deep (depth 50)', affected: upstream.body.nodes.length, p50_ms: upstream.p50, p99_ms: upstream.p99 },
    { db: name, query: `(seeding ${MODELS * PER_MODEL} versions took ${seedSeconds.toFixed(1)} s)`, affected: null, p50_ms: null, p99_ms: null },
  ];
}

const results = [];
const dir = await mkdtemp(join(tmpdir(), 'modelgate-bench-lineage-'));
results.push(...await bench('sqlite', ['--data-dir', join(dir, 'sqlite')], (rows) => seedSqlite(join(dir, 'sqlite', 'modelgate.db'), rows)));
const schema = `bench_lineage_${process.pid}`;
try {
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = `${values.postgres}${values.postgres.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  results.push(...await bench('postgres', ['--data-dir', join(dir, 'pg'), '--database', url], (rows) => seedPostgres(values.postgres, schema, rows)));
} catch (err) {
  console.log(`PostgreSQL part skipped: ${err.message}`);
} finally {
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect().then(() => admin.query(`drop schema if exists ${schema} cascade`)).then(() => admin.end()).catch(() => {});
}
console.log(`\nmodelgate lineage bench: ${MODELS} models x ${PER_MODEL} versions\n`);
for (const r of results) {
  console.log(`${r.db.padEnd(9)} ${r.query.padEnd(72)} ${r.affected === null ? '' : `${String(r.affected).padStart(6)} rows  p50 ${r.p50_ms.toFixed(1).padStart(7)} ms  p99 ${r.p99_ms.toFixed(1).padStart(7)} ms`}`);
}
await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
await writeFile(join(import.meta.dirname, 'results', 'lineage.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
await rm(dir, { recursive: true, force: true });
