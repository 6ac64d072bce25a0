// Bulk seed for the read benchmarks, written straight into the database a server created (and
// migrated) before: models, versions with metrics, tags, files and lineage, aliases, and a valid
// audit chain. Bulk SQL, not HTTP: the write path is measured on its own.
import { randomUUID } from 'node:crypto';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { auditEntryHash } from '../dist/core/audit-chain.js';

const TABLES = {
  models: ['id', 'name', 'description', 'tags', 'owner', 'intended_use', 'restrictions', 'risk_tier', 'archived', 'created_by', 'created_at', 'updated_at', 'last_version', 'responsible', 'validation_status', 'last_validated_at', 'next_validation_due', 'validity_period', 'policy_exceptions'],
  versions: ['id', 'model_id', 'version', 'digest', 'status', 'stage', 'files', 'source_uri', 'metrics', 'params', 'tags', 'description', 'model_card', 'signature', 'lineage', 'created_by', 'created_at', 'updated_at', 'left_development_at', 'deleted_at', 'degraded_at'],
  version_metrics: ['version_id', 'model_id', 'name', 'value'],
  version_tags: ['version_id', 'model_id', 'key', 'value'],
  version_files: ['version_id', 'path', 'digest', 'size'],
  aliases: ['model_id', 'alias', 'version', 'updated_at'],
  datasets: ['id', 'name', 'version', 'uri', 'digest', 'size', 'description', 'schema', 'tags', 'created_by', 'created_at'],
  version_datasets: ['version_id', 'dataset_id', 'role'],
  version_parents: ['version_id', 'parent_id', 'relation'],
  audit_log: ['seq', 'time', 'actor', 'action', 'resource', 'changes', 'request_id', 'prev_hash', 'hash'],
};

/**
 * The rows to insert, by table. `models` models of `perModel` versions each (the last one in
 * production, the one before in staging, @champion on the middle one), plus a model named
 * `wide` with `wide` versions; the first `hot` versions trained on dataset transactions@biased,
 * the rest on @clean; every tenth model's versions form a fine-tuning chain.
 */
export function seedRows({ models: modelCount = 1000, perModel = 100, hot = 10_000, wide = 0 } = {}) {
  const now = new Date().toISOString();
  const rows = Object.fromEntries(Object.keys(TABLES).map((t) => [t, []]));
  const datasets = [
    { id: randomUUID(), name: 'transactions', version: 'biased' },
    { id: randomUUID(), name: 'transactions', version: 'clean' },
  ];
  rows.datasets = datasets.map((d) => [d.id, d.name, d.version, null, null, null, '', null, '{}', 'admin', now]);
  const digest = `sha256:${'0'.repeat(64)}`;
  let n = 0;
  const addModel = (name, count, chain) => {
    const modelId = randomUUID();
    rows.models.push([modelId, name, '', '{}', 'admin', '', '', null, 0, 'admin', now, now, count, '[]', 'not_validated', null, null, null, '[]']);
    rows.aliases.push([modelId, 'champion', Math.ceil(count / 2), now]);
    let previous = null;
    for (let v = 1; v <= count; v++, n++) {
      const id = randomUUID();
      const stage = v === count ? 'production' : v === count - 1 ? 'staging' : 'development';
      const auc = 0.8 + (v % 20) / 100;
      const team = v % 2 === 0 ? 'risk' : 'growth';
      const files = [{ path: 'model.onnx', digest, size: 1024 }];
      rows.versions.push([id, modelId, v, digest, 'ready', stage, JSON.stringify(files), null, JSON.stringify({ auc, loss: 1 - auc }), '{"lr":"0.01"}',
        JSON.stringify({ team }), '', null, null, '{"datasets":[],"code":null,"run":null,"parents":[]}', 'admin', now, now, stage === 'development' ? null : now, null, null]);
      rows.version_metrics.push([id, modelId, 'auc', auc], [id, modelId, 'loss', 1 - auc]);
      rows.version_tags.push([id, modelId, 'team', team]);
      rows.version_files.push([id, 'model.onnx', digest, 1024]);
      if (chain && previous) rows.version_parents.push([id, previous, 'fine_tuned_from']);
      rows.version_datasets.push([id, n < hot ? datasets[0].id : datasets[1].id, 'train']);
      previous = id;
    }
  };
  for (let m = 0; m < modelCount; m++) addModel(`model-${String(m).padStart(4, '0')}`, perModel, m % 10 === 0);
  if (wide > 0) addModel('wide', wide, false);
  return rows;
}

/** `count` audit entries continuing the chain from `head`, and the new head. */
export function auditRows(head, count) {
  const time = new Date().toISOString();
  const out = [];
  let { auditSeq: seq, auditHash: hash } = head;
  for (let i = 0; i < count; i++) {
    seq += 1;
    const entry = { seq, time, actor: 'admin', action: 'model.updated', resource: `models/model-${String(i % 1000).padStart(4, '0')}`, changes: { description: { from: '', to: `edit ${i}` } }, requestId: null, prevHash: hash };
    hash = auditEntryHash(entry);
    out.push([seq, time, entry.actor, entry.action, entry.resource, JSON.stringify(entry.changes), null, entry.prevHash, hash]);
  }
  return { rows: out, head: { auditSeq: seq, auditHash: hash } };
}

export function seedSqlite(file, rows, { audit = 0 } = {}) {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.transaction(() => {
    for (const [table, list] of Object.entries(rows)) {
      if (list.length === 0) continue;
      const stmt = db.prepare(`insert into ${table} (${TABLES[table].join(',')}) values (${TABLES[table].map(() => '?').join(',')})`);
      for (const r of list) stmt.run(...r);
    }
    if (audit > 0) {
      const head = db.prepare('select audit_seq, audit_hash from journal_head where id = 1').get();
      const { rows: entries, head: next } = auditRows({ auditSeq: Number(head.audit_seq), auditHash: head.audit_hash }, audit);
      const stmt = db.prepare(`insert into audit_log (${TABLES.audit_log.join(',')}) values (${TABLES.audit_log.map(() => '?').join(',')})`);
      for (const r of entries) stmt.run(...r);
      db.prepare('update journal_head set audit_seq = ?, audit_hash = ? where id = 1').run(next.auditSeq, next.auditHash);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('analyze');
  db.close();
}

export async function seedPostgres(url, schema, rows, { audit = 0 } = {}) {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  const insert = async (table, list) => {
    const cols = TABLES[table];
    for (let i = 0; i < list.length; i += 1000) {
      const chunk = list.slice(i, i + 1000);
      const tuples = chunk.map((_, r) => `(${cols.map((__, c) => `$${r * cols.length + c + 1}`).join(',')})`).join(',');
      await client.query(`insert into ${table} (${cols.join(',')}) values ${tuples}`, chunk.flat());
    }
  };
  await client.query('begin');
  for (const [table, list] of Object.entries(rows)) await insert(table, list);
  if (audit > 0) {
    const { rows: [head] } = await client.query('select audit_seq, audit_hash from journal_head where id = 1');
    const { rows: entries, head: next } = auditRows({ auditSeq: Number(head.audit_seq), auditHash: head.audit_hash }, audit);
    await insert('audit_log', entries);
    await client.query('update journal_head set audit_seq = $1, audit_hash = $2 where id = 1', [next.auditSeq, next.auditHash]);
  }
  await client.query('commit');
  await client.query('analyze');
  await client.end();
}
