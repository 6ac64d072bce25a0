#!/usr/bin/env node
// Foundation benchmarks: resolve requests/s and version creates/s on SQLite, each next to a
// bare Fastify route returning a constant, measured in the same run (this machine is shared
// and noisy, so ratios mean more than absolute figures). Prints a table and writes JSON to
// bench/results/. Usage: npm run bench [-- --duration 10 --connections 10]
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnServer, stopServer } from './lib.js';
import autocannon from 'autocannon';
import { readFile } from 'node:fs/promises';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '10' } } });
const duration = Number(values.duration);
const connections = Number(values.connections);

function load(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ duration, connections, ...opts }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function summary(result) {
  return {
    requests_per_s: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.non2xx,
    total: result.requests.total,
  };
}

/** Resident memory of a process, in MB, from /proc. */
async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024);
}

async function main() {
  const baseline = await spawnServer([join(import.meta.dirname, 'bare-server.js')]);
  const baseUrl = baseline.url;

  const dir = await mkdtemp(join(tmpdir(), 'modelgate-bench-'));
  const bin = join(import.meta.dirname, '..', 'bin', 'modelgate.js');
  const modelgate = await spawnServer([bin, 'serve', '--port', '0', '--data-dir', dir], { MODELGATE_LOG_LEVEL: 'warn' });
  const server = { url: modelgate.url, adminToken: (await readFile(join(dir, 'admin-token'), 'utf8')).trim() };
  const auth = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' };
  const post = (path, body) => fetch(server.url + path, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  await post('/api/v1/models', { name: 'bench' });
  const blob = await (await fetch(server.url + '/api/v1/blobs', {
    method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: 'weights',
  })).json();
  for (let i = 0; i < 100; i++) {
    await post('/api/v1/models/bench/versions', { files: [{ path: 'model.bin', digest: blob.digest, size: blob.size }], metrics: { auc: i / 100 } });
  }
  // Production needs an independent approval: a second user approves the admin's request.
  const promotion = await (await post('/api/v1/models/bench/versions/100/promotions', { target: 'production', reason: 'bench' })).json();
  await post('/api/v1/users', { username: 'bench-approver', role: 'approver' });
  const { token: approverToken } = await (await post('/api/v1/tokens', { username: 'bench-approver', name: 'bench' })).json();
  const approved = await fetch(`${server.url}/api/v1/promotions/${promotion.id}/approve`, {
    method: 'POST', headers: { authorization: `Bearer ${approverToken}`, 'content-type': 'application/json' }, body: '{}',
  });
  if (!approved.ok) throw new Error(`approval failed: ${approved.status} ${await approved.text()}`);

  const rows = [];
  const warm = async (url, opts = {}) => { await new Promise((r) => autocannon({ url, duration: 2, connections, ...opts }, r)); };

  await warm(`${baseUrl}/constant`);
  const bare = summary(await load({ url: `${baseUrl}/constant` }));
  rows.push({ name: 'bare fastify GET (baseline)', ...bare, ratio: 1 });

  await warm(`${server.url}/api/v1/models/bench/resolve?ref=production`, { headers: auth });
  const resolve = summary(await load({ url: `${server.url}/api/v1/models/bench/resolve?ref=production`, headers: auth }));
  rows.push({ name: 'resolve production (SQLite)', ...resolve, ratio: resolve.requests_per_s / bare.requests_per_s });

  const create = summary(await load({
    url: `${server.url}/api/v1/models/bench/versions`, method: 'POST', headers: auth,
    body: JSON.stringify({ source_uri: 's3://bucket/model.tar.gz', digest: `sha256:${'a'.repeat(64)}`, metrics: { auc: 0.9 }, tags: { source: 'bench' } }),
  }));
  rows.push({ name: 'version create + audit + event (SQLite)', ...create, ratio: create.requests_per_s / bare.requests_per_s });

  const rss = await rssMb(modelgate.child.pid);
  console.log(`\nmodelgate foundation bench: ${connections} connections, ${duration}s each; server RSS after the run ${rss} MB\n`);
  console.log(['benchmark'.padEnd(42), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'errors'.padStart(7), 'vs bare'.padStart(8)].join(' '));
  for (const r of rows) {
    console.log([r.name.padEnd(42), String(r.requests_per_s).padStart(8), String(r.p50_ms).padStart(8), String(r.p99_ms).padStart(8), String(r.errors).padStart(7), `${(r.ratio * 100).toFixed(0)}%`.padStart(8)].join(' '));
  }
  const verify = await (await fetch(server.url + '/api/v1/audit/verify', { headers: auth })).json();
  console.log(`\naudit chain after the run: ${verify.ok ? 'verifies' : 'BROKEN'} (${verify.entries} entries)`);

  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(join(import.meta.dirname, 'results', 'foundation.json'), JSON.stringify({ date: new Date().toISOString(), duration, connections, rows }, null, 2));
  modelgate.child.kill('SIGTERM');
  baseline.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  await rm(dir, { recursive: true, force: true });
}

await main();
