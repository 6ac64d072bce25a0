#!/usr/bin/env node
// Backs up a live modelgate registry, wipes it, restores it, and proves the restore: the audit
// chain verifies with the same head, every version is back, and every blob's bytes match
// their digest. It runs the steps docs/deploy.md describes, on a registry it fills itself.
//
//   node scripts/backup-restore-check.mjs                       # SQLite
//   node scripts/backup-restore-check.mjs --postgres postgres://user@host/db   # PostgreSQL (pg_dump/pg_restore on PATH)
//
// Exit code 0 and a last line "backup-restore-check: OK" when the restore is complete.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';

const run = promisify(execFile);
const { values } = parseArgs({ options: { postgres: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const BIN = join(import.meta.dirname, '..', 'bin', 'modelgate.js');
const work = await mkdtemp(join(tmpdir(), 'modelgate-backup-check-'));
const dataDir = join(work, 'live');
const backupDir = join(work, 'backup');
const schema = `backup_check_${process.pid}`;
const pgUrl = values.postgres;
const database = pgUrl ? `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` : join(dataDir, 'modelgate.db');
const step = (text) => console.log(`- ${text}`);

function serve() {
  const child = spawn('node', [BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--database', database], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MODELGATE_LOG_LEVEL: 'warn' } });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

async function api(server, token, method, path, body, raw) {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(raw ? { 'content-type': 'application/octet-stream' } : body ? { 'content-type': 'application/json' } : {}) },
    body: raw ?? (body ? JSON.stringify(body) : undefined),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.headers.get('content-type')?.includes('json') ? res.json() : Buffer.from(await res.arrayBuffer());
}

async function pgAdmin(sql) {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try { await client.query(sql); } finally { await client.end(); }
}

let failed = false;
try {
  if (pgUrl) await pgAdmin(`create schema ${schema}`);
  step(`filling a registry on ${pgUrl ? 'PostgreSQL' : 'SQLite'}`);
  let server = await serve();
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  await api(server, token, 'POST', '/api/v1/users', { username: 'approver', role: 'approver' });
  const approver = (await api(server, token, 'POST', '/api/v1/tokens', { username: 'approver', name: 'check' })).token;
  for (const name of ['fraud-scorer', 'churn']) {
    await api(server, token, 'POST', '/api/v1/models', { name, description: `${name} model` });
    for (let v = 0; v < 3; v++) {
      const blob = await api(server, token, 'POST', '/api/v1/blobs', undefined, randomBytes(64 * 1024 + v));
      await api(server, token, 'POST', `/api/v1/models/${name}/versions`, { files: [{ path: 'model.bin', digest: blob.digest, size: blob.size }], metrics: { auc: 0.9 + v / 100 } });
    }
    const promotion = await api(server, token, 'POST', `/api/v1/models/${name}/versions/3/promotions`, { target: 'production', reason: 'release' });
    await api(server, approver, 'POST', `/api/v1/promotions/${promotion.id}/approve`, { comment: 'reviewed' });
  }
  const before = await api(server, token, 'GET', '/api/v1/audit/verify');
  const versionsBefore = {};
  for (const name of ['fraud-scorer', 'churn']) versionsBefore[name] = (await api(server, token, 'GET', `/api/v1/models/${name}/versions`)).versions;

  step('backing up while the server runs: database first, then blobs');
  await mkdir(backupDir, { recursive: true });
  if (pgUrl) {
    await run('pg_dump', ['--format=custom', `--schema=${schema}`, `--file=${join(backupDir, 'modelgate.dump')}`, pgUrl]);
  } else {
    // SQLite's online backup: a consistent copy even while the server writes.
    const db = new SQLite(database, { readonly: true });
    await db.backup(join(backupDir, 'modelgate.db'));
    db.close();
  }
  // Blobs are written before the rows that name them, and never change: copied after the
  // database, the copy holds every blob the backed-up rows refer to.
  await cp(join(dataDir, 'blobs'), join(backupDir, 'blobs'), { recursive: true });
  // A change after the backup: it must not survive the restore.
  await api(server, token, 'PATCH', '/api/v1/models/churn', { description: 'changed after the backup' });
  await server.stop();

  step('wiping the registry');
  await rm(dataDir, { recursive: true, force: true });
  if (pgUrl) await pgAdmin(`drop schema ${schema} cascade`);

  step('restoring');
  await mkdir(dataDir, { recursive: true });
  if (pgUrl) await run('pg_restore', ['--no-owner', `--dbname=${pgUrl}`, join(backupDir, 'modelgate.dump')]);
  else await cp(join(backupDir, 'modelgate.db'), database);
  await cp(join(backupDir, 'blobs'), join(dataDir, 'blobs'), { recursive: true });

  step('verifying the restored registry');
  server = await serve();
  const after = await api(server, token, 'GET', '/api/v1/audit/verify');
  const problems = [];
  if (!after.ok) problems.push(`audit chain: ${after.problem} at ${after.first_bad_seq}`);
  if (after.entries !== before.entries || after.head_hash !== before.head_hash) problems.push(`audit head ${after.entries}/${after.head_hash} != backed up ${before.entries}/${before.head_hash}`);
  for (const [name, versions] of Object.entries(versionsBefore)) {
    const restored = (await api(server, token, 'GET', `/api/v1/models/${name}/versions`)).versions;
    if (JSON.stringify(restored) !== JSON.stringify(versions)) problems.push(`${name}: versions differ after restore`);
    for (const v of restored) {
      for (const f of v.files) {
        const bytes = await api(server, token, 'GET', `/api/v1/blobs/${f.digest}`);
        if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== f.digest) problems.push(`${name} v${v.version} ${f.path}: bytes do not match ${f.digest}`);
      }
    }
  }
  const churn = await api(server, token, 'GET', '/api/v1/models/churn');
  if (churn.description === 'changed after the backup') problems.push('a change made after the backup came back');
  const resolved = await api(server, token, 'GET', '/api/v1/models/fraud-scorer/resolve?ref=production');
  if (resolved.version !== 3) problems.push(`production resolves to ${resolved.version}, not 3`);
  await server.stop();
  for (const p of problems) console.log(`  PROBLEM: ${p}`);
  failed = problems.length > 0;
  console.log(`  audit chain: ${after.entries} entries, head ${after.head_hash.slice(0, 16)}..., verified ${after.ok}`);
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  if (pgUrl) await pgAdmin(`drop schema if exists ${schema} cascade`).catch(() => {});
  if (!values.keep) await rm(work, { recursive: true, force: true });
}
console.log(`backup-restore-check: ${failed ? 'FAILED' : 'OK'}`);
process.exitCode = failed ? 1 : 0;
