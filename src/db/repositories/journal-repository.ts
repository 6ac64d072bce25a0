import { sql, type Kysely } from 'kysely';
import { canonicalJson } from '../../core/canonical-json.js';
import type { AuditHashInput, AuditQuery, JournalHead, JournalRepository, StoredAuditEntry } from '../../core/ports.js';
import type { AuditEntry, OutboxEvent } from '../../core/types.js';
import type { DbCapabilities } from '../connect.js';
import type { AuditLogTable, Database } from '../schema.js';
import { fixedQuery, insertRows, onlyRow } from './fixed-query.js';
import { fromJson, likePrefix, toJson } from './json.js';

// Every change runs these: built and compiled once (fixed-query.ts).
const readHead = fixedQuery((db) => db.selectFrom('journal_head').selectAll().where('id', '=', 1));
const lockHeadRow = fixedQuery((db) => db.selectFrom('journal_head').selectAll().where('id', '=', 1).forUpdate());
const writeHead = fixedQuery((db, auditSeq: number, auditHash: string, eventSeq: number) => db.updateTable('journal_head')
  .set({ audit_seq: auditSeq, audit_hash: auditHash, event_seq: eventSeq }).where('id', '=', 1));
// The webhook dispatcher's, after every commit.
const eventsAfter = fixedQuery((db, afterSeq: number, limit: number) => db.selectFrom('outbox_events').selectAll()
  .where('seq', '>', afterSeq).orderBy('seq').limit(limit));

/**
 * What audit verify reads of each entry: its seq, the text its hash covers, its prev_hash and
 * hash (AuditHashInput). The database builds the text, the way auditHashInput in
 * audit-chain.ts does (a test holds the two together on both databases): reading the seven
 * fields and joining them in JavaScript cost twice as much. An entry whose text comes out
 * otherwise is checked again from its fields, so verify's answer never rests on this quoting.
 */
export function auditHashInputColumns(caps: DbCapabilities): string {
  const q = caps.jsonText;
  return `seq, prev_hash || '\n{"action":' || ${q('action')} || ',"actor":' || ${q('actor')} || ',"changes":' || changes`
    + ` || ',"request_id":' || ${q('request_id')} || ',"resource":' || ${q('resource')} || ',"seq":' || cast(seq as text)`
    + ` || ',"time":' || ${q('time')} || '}' as input, prev_hash, hash`;
}

export class KyselyJournalRepository implements JournalRepository {
  constructor(private readonly db: Kysely<Database>, protected readonly caps: DbCapabilities) {}

  async lockHead(): Promise<JournalHead> {
    return toHead(onlyRow(await (this.caps.rowLocks ? lockHeadRow : readHead)(this.db)));
  }

  async setHead(head: JournalHead): Promise<void> {
    await writeHead(this.db, head.auditSeq, head.auditHash, head.eventSeq);
  }

  async head(): Promise<JournalHead> {
    return toHead(onlyRow(await readHead(this.db)));
  }

  async appendAudit(e: AuditEntry): Promise<void> {
    await insertRows(this.db, 'audit_log', [{
      // Stored in canonical form, as hashed: verify can hash the stored text as it is.
      seq: e.seq, time: e.time, actor: e.actor, action: e.action, resource: e.resource, changes: canonicalJson(e.changes),
      request_id: e.requestId, prev_hash: e.prevHash, hash: e.hash,
    }]);
  }

  async appendEvent(e: OutboxEvent): Promise<void> {
    await insertRows(this.db, 'outbox_events', [{
      seq: e.seq, id: e.id, type: e.type, subject: e.subject, time: e.time, actor: e.actor, data: toJson(e.data),
    }]);
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (query.resource) {
      const resource = query.resource.replace(/\/+$/, '');
      q = q.where((eb) => eb.or([
        eb('resource', '=', resource),
        sql<boolean>`resource like ${likePrefix(resource + '/')} escape '\\'`,
      ]));
    }
    if (query.actor) q = q.where('actor', '=', query.actor);
    if (query.action) {
      q = query.action.endsWith('.*')
        ? q.where(sql<boolean>`action like ${likePrefix(query.action.slice(0, -1))} escape '\\'`)
        : q.where('action', '=', query.action);
    }
    if (query.since) q = q.where('time', '>=', query.since);
    if (query.until) q = q.where('time', '<', query.until);
    if (query.afterSeq !== undefined) q = q.where('seq', '<', query.afterSeq);
    const rows = await q.orderBy('seq', 'desc').limit(query.limit).execute();
    return rows.map(toEntry);
  }

  async auditRange(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    return rows.map(toEntry);
  }

  async storedAuditRange(afterSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    return rows.map((row) => ({
      seq: Number(row.seq), time: row.time, actor: row.actor, action: row.action, resource: row.resource,
      changesJson: row.changes, requestId: row.request_id, prevHash: row.prev_hash, hash: row.hash,
    }));
  }

  async auditHashInputs(afterSeq: number, limit: number): Promise<AuditHashInput[]> {
    const { rows } = await sql<{ seq: number | string; input: string | null; prev_hash: string; hash: string }>`
      select ${sql.raw(auditHashInputColumns(this.caps))} from audit_log where seq > ${afterSeq} order by seq limit ${limit}
    `.execute(this.db);
    return rows.map((r) => [r.seq, r.input, r.prev_hash, r.hash]);
  }

  async auditBeforeChain(): Promise<{ count: number; lowest: number | null }> {
    const { rows } = await sql<{ n: number | string; lowest: number | string | null }>`
      select count(*) as n, min(seq) as lowest from audit_log where seq < 1 or seq is null
    `.execute(this.db);
    const row = onlyRow({ rows });
    return { count: Number(row.n), lowest: row.lowest === null ? null : Number(row.lowest) };
  }

  async listEvents(afterSeq: number, limit: number): Promise<OutboxEvent[]> {
    const { rows } = await eventsAfter(this.db, afterSeq, limit);
    return rows.map((r) => ({
      seq: Number(r.seq), id: r.id, type: r.type, subject: r.subject, time: r.time, actor: r.actor, data: fromJson(r.data),
    }));
  }
}

function toHead(row: { audit_seq: number | string; audit_hash: string; event_seq: number | string }): JournalHead {
  return { auditSeq: Number(row.audit_seq), auditHash: row.audit_hash, eventSeq: Number(row.event_seq) };
}

function toEntry(row: AuditLogTable): AuditEntry {
  return {
    seq: Number(row.seq), time: row.time, actor: row.actor, action: row.action, resource: row.resource,
    changes: fromJson(row.changes), requestId: row.request_id, prevHash: row.prev_hash, hash: row.hash,
  };
}
