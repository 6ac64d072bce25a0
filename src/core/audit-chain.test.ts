import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, auditEntryHash, verifyChain } from './audit-chain.js';
import type { AuditQuery, JournalHead, JournalRepository } from './ports.js';
import type { AuditEntry, OutboxEvent } from './types.js';

/** An in-memory journal: a real implementation of the port, for core's unit tests. */
class MemoryJournal implements JournalRepository {
  entries: AuditEntry[] = [];
  events: OutboxEvent[] = [];
  current: JournalHead = { auditSeq: 0, auditHash: GENESIS_HASH, eventSeq: 0 };
  async lockHead() { return { ...this.current }; }
  async setHead(head: JournalHead) { this.current = { ...head }; }
  async head() { return { ...this.current }; }
  async appendAudit(entry: AuditEntry) { this.entries.push(entry); }
  async appendEvent(event: OutboxEvent) { this.events.push(event); }
  async listAudit(query: AuditQuery) { return this.entries.slice().reverse().slice(0, query.limit); }
  async auditRange(afterSeq: number, limit: number) {
    return this.entries.filter((e) => e.seq > afterSeq).sort((a, b) => a.seq - b.seq).slice(0, limit);
  }
  async listEvents(afterSeq: number, limit: number) { return this.events.filter((e) => e.seq > afterSeq).slice(0, limit); }
}

function chainOf(n: number): MemoryJournal {
  const journal = new MemoryJournal();
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const entry = { seq, time: `2026-01-01T00:00:0${seq % 10}.000Z`, actor: 'alice', action: 'model.updated', resource: `models/m${seq}`, changes: { n: seq }, requestId: null, prevHash };
    prevHash = auditEntryHash(entry);
    journal.entries.push({ ...entry, hash: prevHash });
  }
  journal.current = { auditSeq: n, auditHash: prevHash, eventSeq: 0 };
  return journal;
}

describe('verifyChain', () => {
  it('accepts an intact chain and an empty one', async () => {
    expect(await verifyChain(chainOf(12))).toMatchObject({ ok: true, entries: 12, firstBadSeq: null });
    expect(await verifyChain(new MemoryJournal())).toMatchObject({ ok: true, entries: 0 });
  });
  it('names the first altered entry', async () => {
    const journal = chainOf(10);
    journal.entries[6] = { ...journal.entries[6]!, changes: { n: 999 } };
    expect(await verifyChain(journal)).toMatchObject({ ok: false, firstBadSeq: 7 });
  });
  it('notices a missing entry, a missing tail and a reordering', async () => {
    const gap = chainOf(10);
    gap.entries.splice(4, 1);
    expect(await verifyChain(gap)).toMatchObject({ ok: false, firstBadSeq: 5 });
    const tail = chainOf(10);
    tail.entries.length = 8;
    expect(await verifyChain(tail)).toMatchObject({ ok: false, firstBadSeq: 9 });
    const swapped = chainOf(10);
    const [a, b] = [swapped.entries[2]!, swapped.entries[3]!];
    swapped.entries[2] = { ...b, seq: 3 };
    swapped.entries[3] = { ...a, seq: 4 };
    expect(await verifyChain(swapped)).toMatchObject({ ok: false, firstBadSeq: 3 });
  });
});
