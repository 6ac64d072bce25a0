#!/usr/bin/env node
// Lineage at scale: 1,000 models and 100,000 versions, one dataset version used directly by
// 10,000 of them and inherited by fine-tuned descendants, on SQLite and (when reachable) on
// PostgreSQL. Measures GET /api/v1/impact and GET .../lineage through the real server.
// Rows are seeded with bulk SQL by seed.js (a read benchmark; the write path is measured in run.js).
// Usage: node bench/lineage.js [--postgres postgres://postgres@127.0.0.1:5432/test]
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dropSchema, pgSchema, spawnServer, stopServer } from './lib.js';
import { seedPostgres, seedRows, seedSqlite } from './seed.js';

const { values } = parseArgs({ options: { postgres: { type: 'string', default: process.env.MODELGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' } } });
const MODELS = 1000;
const PER_MODEL = 100;
const HOT = 10_000; // versions trained directly on the "biased" dataset version
const bin = join(import.meta.dirname, '..', 'bin', 'modelgate.js');

function serve(args) {
  return spawnServer([bin, 'serve', '--port', '0', '--rate-limit', '0', ...args]);
}
const stop = stopServer;

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
  const rows = seedRows({ models: MODELS, perModel: PER_MODEL, hot: HOT });
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
  const url = await pgSchema(values.postgres, schema);
  results.push(...await bench('postgres', ['--data-dir', join(dir, 'pg'), '--database', url], (rows) => seedPostgres(values.postgres, schema, rows)));
} catch (err) {
  console.log(`PostgreSQL part skipped: ${err.message}`);
} finally {
  await dropSchema(values.postgres, schema);
}
console.log(`\nmodelgate lineage bench: ${MODELS} models x ${PER_MODEL} versions\n`);
for (const r of results) {
  console.log(`${r.db.padEnd(9)} ${r.query.padEnd(72)} ${r.affected === null ? '' : `${String(r.affected).padStart(6)} rows  p50 ${r.p50_ms.toFixed(1).padStart(7)} ms  p99 ${r.p99_ms.toFixed(1).padStart(7)} ms`}`);
}
await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
await writeFile(join(import.meta.dirname, 'results', 'lineage.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
await rm(dir, { recursive: true, force: true });
