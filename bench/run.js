#!/usr/bin/env node
// `npm run bench`: every hot-path figure of the registry next to a baseline measured in the same
// run (this machine is shared and noisy: ratios mean more than absolute figures), on SQLite and
// PostgreSQL, with 1,000 models and 100,000 versions seeded (metrics, tags, files, lineage,
// aliases, a 100,000-entry audit chain). Prints one table and writes bench/results/bench.json.
// Also runs webhooks.js and uploads.js (1 GiB upload/download next to dd) and merges their rows.
// Usage: npm run bench [-- --duration 10 --connections 10 --postgres <url> --no-postgres --no-webhooks --no-uploads --upload-mib 1024]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import SQLite from 'better-sqlite3';
import { dropSchema, pgSchema, spawnServer, stopAllServers, stopServer } from './lib.js';
import { auditRows, seedPostgres, seedRows, seedSqlite } from './seed.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    postgres: { type: 'string', default: process.env.MODELGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'no-postgres': { type: 'boolean', default: false },
    'no-webhooks': { type: 'boolean', default: false },
    'no-uploads': { type: 'boolean', default: false },
    'upload-mib': { type: 'string', default: '1024' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const SEED = { models: 1000, perModel: 100, hot: 10_000, wide: 1000 };
const AUDIT = 100_000;
const bin = join(import.meta.dirname, '..', 'bin', 'modelgate.js');
const rows = [];

function add(row) {
  const ratio = row.baseline_value ? row.value / row.baseline_value : null;
  const met = row.target === undefined ? null : row.target.startsWith('>=') ? row.value >= Number(row.target.slice(2)) : row.value <= Number(row.target.slice(2));
  rows.push({ ...row, ratio, met });
  console.log(`  ${row.db.padEnd(8)} ${row.figure}: ${fmt(row.value)} ${row.unit}`);
}

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));

function load(opts) {
  return new Promise((resolve, reject) => autocannon({ duration, connections, ...opts }, (err, r) => (err ? reject(err) : resolve(r))));
}

/** Warm-up, then a measured run; fails on any error or non-2xx answer. */
async function throughput(opts) {
  await new Promise((r) => autocannon({ ...opts, duration: 2, connections }, r));
  const r = await load(opts);
  if (r.errors + r.non2xx > 0) throw new Error(`${opts.url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

/**
 * The figure and its baseline in alternating one-second slices, `duration` of each: the load
 * other processes put on this shared machine swings within seconds, and a baseline measured
 * a minute apart can differ twofold. p99 is the request-weighted mean of the slices' p99s.
 */
async function paired(opts, baselineOpts) {
  await new Promise((r) => autocannon({ ...opts, duration: 2, connections }, r));
  const sum = { target: { n: 0, p99: 0 }, baseline: { n: 0, p99: 0 } };
  const slice = (o) => new Promise((resolve, reject) => autocannon({ ...o, duration: 1, connections }, (err, r) => (err ? reject(err) : resolve(r))));
  for (let i = 0; i < duration; i++) {
    for (const [key, o] of [['baseline', baselineOpts], ['target', opts]]) {
      const r = await slice(o);
      if (r.errors + r.non2xx > 0) throw new Error(`${o.url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      sum[key].n += r.requests.total;
      sum[key].p99 += r.latency.p99 * r.requests.total;
    }
  }
  const stats = (x) => ({ rps: x.n / duration, p99: x.n ? x.p99 / x.n : 0 });
  return { target: stats(sum.target), baseline: stats(sum.baseline) };
}

/** One client, one request at a time: p50 and p99 of `runs` requests after 3 warm-ups. */
async function latency(url, headers, runs = 30) {
  const times = [];
  let body;
  for (let i = 0; i < runs + 3; i++) {
    const start = performance.now();
    const res = await fetch(url, { headers });
    body = await res.json();
    if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
    if (i >= 3) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)], body };
}

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function timedStart(args, env) {
  const start = performance.now();
  const server = await spawnServer(args, env);
  return { server, ms: performance.now() - start };
}

/** SQLite commits of one row each, fsynced (synchronous=FULL), one after another: the disk's bound. */
function fsyncedCommitsPerSecond(dir) {
  const db = new SQLite(join(dir, 'fsync.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('create table t (x)');
  const insert = db.prepare('insert into t values (?)');
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 3000) insert.run(n++);
  const rate = n / ((performance.now() - start) / 1000);
  db.close();
  return rate;
}

/** Hashing the chain alone, in this process: what verify cannot beat. */
function hashRate() {
  const { rows: entries } = auditRows({ auditSeq: 0, auditHash: '0'.repeat(64) }, 50_000);
  const start = performance.now();
  for (const e of entries) createHash('sha256').update(e[7]).update('\n').update(e[5]).digest('hex');
  return entries.length / ((performance.now() - start) / 1000);
}

/** Starts a server once (creating and migrating its database), seeds it, and returns its serve args. */
async function seeded(db, dir, seed, audit) {
  const dataDir = join(dir, `${db}-${seed.wide}-${seed.models}`);
  // The per-token rate limit (6,000/min by default) stays on, with room for the bench's rate: its cost is part of every request.
  let args = ['serve', '--port', '0', '--data-dir', dataDir, '--rate-limit', '10000000', '--rate-limit-burst', '1000000'];
  let schema = null;
  if (db === 'postgres') {
    schema = `bench_${process.pid}_${seed.models}`;
    args = [...args, '--database', await pgSchema(values.postgres, schema)];
  }
  await stopServer(await spawnServer([bin, ...args]));
  const started = performance.now();
  const data = seedRows(seed);
  if (db === 'sqlite') seedSqlite(join(dataDir, 'modelgate.db'), data, { audit });
  else await seedPostgres(values.postgres, schema, data, { audit });
  const versions = data.versions.length;
  console.log(`  ${db.padEnd(8)} seeded ${data.models.length} models, ${versions} versions, ${audit} audit entries in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { args, dataDir, schema, versions };
}

const LIST = '/api/v1/models/wide/versions?stage=development&filter=' + encodeURIComponent('metrics.auc >= 0.9');
const SEARCH = '/api/v1/models/wide/versions?stage=development&tag=team%3Dgrowth&filter=' + encodeURIComponent('metrics.auc >= 0.99');

async function benchDatabase(db, dir, bare) {
  console.log(`\n${db}:`);
  // The same list queries on a registry holding only the 1,000-version model: the baseline for growth.
  const small = await seeded(db, dir, { models: 0, wide: 1000 }, 0);
  let { server } = await timedStart([bin, ...small.args]);
  let token = (await readFile(join(small.dataDir, 'admin-token'), 'utf8')).trim();
  let headers = { authorization: `Bearer ${token}` };
  const listSmall = await latency(server.url + LIST, headers);
  const searchSmall = await latency(server.url + SEARCH, headers);
  await stopServer(server);

  const big = await seeded(db, dir, SEED, AUDIT);
  const start = await timedStart([bin, ...big.args]);
  server = start.server;
  token = (await readFile(join(big.dataDir, 'admin-token'), 'utf8')).trim();
  headers = { authorization: `Bearer ${token}` };
  const n = big.versions.toLocaleString('en-US');
  add({ db, figure: `start-up to ready, ${n} versions`, value: start.ms, unit: 'ms', baseline: 'bare Fastify start-up', baseline_value: bare.startMs, target: '<=1000' });
  await new Promise((r) => setTimeout(r, 2000));
  add({ db, figure: 'RSS at idle, seeded', value: await rssMb(server.child.pid), unit: 'MB', baseline: 'bare Fastify RSS', baseline_value: bare.rss, target: '<=120' });

  const bareNow = await throughput({ url: `${bare.url}/constant` });
  add({ db, figure: 'bare Fastify GET, constant (baseline, alone)', value: bareNow.rps, unit: 'req/s', baseline: 'itself', baseline_value: bareNow.rps });
  const share = db === 'sqlite' ? 0.5 : 0.25;
  for (const [figure, path] of [
    ['resolve production', '/api/v1/models/model-0500/resolve?ref=production'],
    ['resolve @alias', '/api/v1/models/model-0500/resolve?ref=%40champion'],
    ['resolve number', '/api/v1/models/model-0500/resolve?ref=42'],
    ['GET version', '/api/v1/models/model-0500/versions/42'],
  ]) {
    const r = await paired({ url: server.url + path, headers }, { url: `${bare.url}/constant` });
    add({ db, figure: `${figure} (req/s)`, value: r.target.rps, unit: 'req/s', baseline: 'bare Fastify GET, alternating slices', baseline_value: r.baseline.rps, target: `>=${Math.round(r.baseline.rps * share)}` });
    add({ db, figure: `${figure} (p99)`, value: r.target.p99, unit: 'ms', baseline: 'bare Fastify p99, alternating slices', baseline_value: r.baseline.p99 || 1, target: db === 'sqlite' ? '<=5' : undefined });
  }

  const list = await latency(server.url + LIST, headers);
  add({ db, figure: `list: stage + metrics.auc >= 0.9, first page (p50, ${n} versions)`, value: list.p50, unit: 'ms', baseline: 'same, 1,000 versions', baseline_value: listSmall.p50, target: '<=10' });
  const search = await latency(server.url + SEARCH, headers);
  add({ db, figure: `search: stage + tag + auc >= 0.99 (1 in 20), first page (p50, ${n} versions)`, value: search.p50, unit: 'ms', baseline: 'same, 1,000 versions', baseline_value: searchSmall.p50, target: '<=10' });
  const ping = await latency(`${bare.url}/constant`, {});
  const impact = await latency(server.url + '/api/v1/impact?dataset=transactions%40biased', headers, 10);
  add({ db, figure: `impact of a dataset used by 10,000 versions (p50, ${impact.body.affected.length} affected)`, value: impact.p50, unit: 'ms', baseline: 'bare Fastify round trip', baseline_value: ping.p50, target: '<=50' });

  const verifyStart = performance.now();
  const verify = await (await fetch(server.url + '/api/v1/audit/verify', { headers })).json();
  const verifyRate = verify.entries / ((performance.now() - verifyStart) / 1000);
  if (!verify.ok) throw new Error(`audit chain does not verify: ${JSON.stringify(verify)}`);
  add({ db, figure: `audit verify (${verify.entries.toLocaleString('en-US')} entries)`, value: verifyRate, unit: 'entries/s', baseline: 'sha256 of the same entries in the bench process', baseline_value: bare.hashRate, target: '>=200000' });

  const json = { ...headers, 'content-type': 'application/json' };
  await fetch(server.url + '/api/v1/models', { method: 'POST', headers: json, body: JSON.stringify({ name: 'bench-create' }) });
  const create = await throughput({
    url: server.url + '/api/v1/models/bench-create/versions', method: 'POST', headers: json,
    body: JSON.stringify({ source_uri: 's3://bucket/model.tar.gz', digest: `sha256:${'a'.repeat(64)}`, metrics: { auc: 0.9 }, tags: { source: 'bench' } }),
  });
  add(db === 'sqlite'
    ? { db, figure: 'version create + audit + event (201/s)', value: create.rps, unit: 'req/s', baseline: "one-row SQLite commits/s, fsync'd, sequential", baseline_value: bare.fsyncRate, target: '>=1500' }
    : { db, figure: 'version create + audit + event (201/s)', value: create.rps, unit: 'req/s', baseline: 'bare Fastify GET', baseline_value: bareNow.rps });
  add({ db, figure: 'RSS after the load mix', value: await rssMb(server.child.pid), unit: 'MB', baseline: 'bare Fastify RSS', baseline_value: bare.rss, target: '<=300' });
  const after = await (await fetch(server.url + '/api/v1/audit/verify', { headers })).json();
  if (!after.ok) throw new Error('audit chain broken after the create load');
  await stopServer(server);
  if (big.schema) await dropSchema(values.postgres, big.schema);
  if (small.schema) await dropSchema(values.postgres, small.schema);
}

function runScript(script, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [join(import.meta.dirname, script), ...args], { stdio: ['ignore', 'ignore', 'inherit'], cwd: join(import.meta.dirname, '..') });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
  });
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-bench-'));
  console.log(`modelgate bench: ${connections} connections, ${duration} s per throughput figure after 2 s of warm-up`);
  const bareStart = await timedStart([join(import.meta.dirname, 'bare-server.js')]);
  await new Promise((r) => setTimeout(r, 1000));
  const bare = {
    url: bareStart.server.url, startMs: bareStart.ms, rss: await rssMb(bareStart.server.child.pid),
    fsyncRate: fsyncedCommitsPerSecond(dir), hashRate: hashRate(),
  };
  try {
    await benchDatabase('sqlite', dir, bare);
    if (!values['no-postgres']) {
      try {
        await benchDatabase('postgres', dir, bare);
      } catch (err) {
        console.log(`PostgreSQL part skipped: ${err.message}`);
      }
    }
    if (!values['no-webhooks']) {
      await runScript('webhooks.js');
      const hooks = JSON.parse(await readFile(join(import.meta.dirname, 'results', 'webhooks.json'), 'utf8'));
      add({ db: 'sqlite', figure: `webhook deliveries (${hooks.delivered}/${hooks.events} delivered)`, value: hooks.deliveries_per_s, unit: 'events/s', baseline: 'version creates/s feeding them', baseline_value: hooks.writes_per_s });
      add({ db: 'sqlite', figure: 'webhook commit -> receipt (p50)', value: hooks.latency_ms.p50, unit: 'ms', baseline: 'p99', baseline_value: hooks.latency_ms.p99 });
    }
    if (!values['no-uploads']) {
      await runScript('uploads.js', ['--size-mib', values['upload-mib']]);
      const uploads = JSON.parse(await readFile(join(import.meta.dirname, 'results', 'uploads.json'), 'utf8'));
      for (const r of uploads.rows) {
        // The plain Fastify route's row is a baseline itself: no target.
        const target = r.measurement.startsWith('plain Fastify route') ? undefined : `>=${Math.round(r.dd_mib_per_s * 0.6)}`;
        add({ db: 'sqlite', figure: `${uploads.size_mib} MiB ${r.measurement}`, value: r.mib_per_s, unit: 'MiB/s', baseline: 'dd conv=fsync, same file and disk, same preparation', baseline_value: r.dd_mib_per_s, target });
      }
    }
  } finally {
    await stopServer(bareStart.server);
    await stopAllServers(); // any a failed figure left running
    await rm(dir, { recursive: true, force: true });
  }

  console.log(`\n${'db'.padEnd(8)} ${'figure'.padEnd(78)} ${'value'.padStart(10)} ${'unit'.padEnd(9)} ${'baseline'.padStart(10)}  ${'ratio'.padStart(7)}  ${'target'.padEnd(8)} met  baseline is`);
  for (const r of rows) {
    const ratio = r.ratio === null ? '' : ['req/s', 'entries/s', 'events/s', 'MiB/s'].includes(r.unit) ? `${(r.ratio * 100).toFixed(0)}%` : `${r.ratio.toFixed(1)}x`;
    console.log(`${r.db.padEnd(8)} ${r.figure.padEnd(78)} ${fmt(r.value).padStart(10)} ${r.unit.padEnd(9)} ${(r.baseline_value ? fmt(r.baseline_value) : '').padStart(10)}  ${ratio.padStart(7)}  ${(r.target ?? '').padEnd(8)} ${r.met === null ? '   ' : r.met ? 'yes' : 'NO '}  ${r.baseline}`);
  }
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(join(import.meta.dirname, 'results', 'bench.json'), JSON.stringify({ date: new Date().toISOString(), duration, connections, seed: SEED, audit: AUDIT, rows }, null, 2));
}

await main();
