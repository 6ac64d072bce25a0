import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { GENESIS_HASH, auditEntryHash, auditHashInput, verifyChain } from './audit-chain.js';
import type { AuditHashInput, AuditQuery, JournalHead, JournalRepository } from './ports.js';
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
  async storedAuditRange(afterSeq: number, limit: number) {
    // Stored the way an earlier version of modelgate stored it: JSON.stringify, not canonical.
    return (await this.auditRange(afterSeq, limit)).map(({ changes, ...rest }) => ({ ...rest, changesJson: JSON.stringify(changes) }));
  }
  async auditHashInputs(afterSeq: number, limit: number): Promise<AuditHashInput[]> {
    // Built here as the databases build it in SQL.
    return (await this.storedAuditRange(afterSeq, limit)).map((e) => [e.seq, auditHashInput(e), e.prevHash, e.hash]);
  }
  async auditBeforeChain() {
    const strays = this.entries.filter((e) => !(e.seq >= 1));
    return { count: strays.length, lowest: strays.length === 0 ? null : Math.min(...strays.map((e) => e.seq)) };
  }
  async listEvents(afterSeq: number, limit: number) { return this.events.filter((e) => e.seq > afterSeq).slice(0, limit); }
}

/** Appends `n` valid entries and moves the head past them, as a committed change does. */
function append(journal: MemoryJournal, n: number): void {
  let prevHash = journal.current.auditHash;
  const first = journal.current.auditSeq + 1;
  for (let seq = first; seq < first + n; seq++) {
    const entry = { seq, time: `2026-01-01T00:00:0${seq % 10}.000Z`, actor: 'alice', action: 'model.updated', resource: `models/m${seq}`, changes: { n: seq }, requestId: null, prevHash };
    prevHash = auditEntryHash(entry);
    journal.entries.push({ ...entry, hash: prevHash });
  }
  journal.current = { auditSeq: first + n - 1, auditHash: prevHash, eventSeq: 0 };
}

function chainOf(n: number): MemoryJournal {
  const journal = new MemoryJournal();
  append(journal, n);
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
  it('verifies while writers append, page after page', async () => {
    const journal = chainOf(12_000);
    const read = journal.auditRange.bind(journal);
    // Every page read lets a writer commit three more entries: the walk sees some of them.
    journal.auditRange = async (afterSeq, limit) => {
      const page = await read(afterSeq, limit);
      append(journal, 3);
      return page;
    };
    const result = await verifyChain(journal);
    expect(result).toMatchObject({ ok: true, firstBadSeq: null });
    expect(result.entries).toBeGreaterThanOrEqual(12_000);
  });
  it('checks an entry again from its fields when the text the database built for it does not match', async () => {
    const journal = chainOf(12_000);
    const built = journal.auditHashInputs.bind(journal);
    // A database that quoted some fields otherwise, or could not build the text at all.
    journal.auditHashInputs = async (afterSeq, limit) => (await built(afterSeq, limit))
      .map(([seq, input, prevHash, hash]) => [seq, Number(seq) % 7 === 0 ? null : Number(seq) % 5 === 0 ? `${input} ` : input, prevHash, hash]);
    expect(await verifyChain(journal)).toMatchObject({ ok: true, entries: 12_000 });
    // Still, an altered entry is found, whichever way it was checked.
    journal.entries[7_000] = { ...journal.entries[7_000]!, actor: 'mallory' };
    journal.entries[6_999] = { ...journal.entries[6_999]!, actor: 'mallory' };
    expect(await verifyChain(journal)).toMatchObject({ ok: false, firstBadSeq: 7_000 });
  });

  it('notices entries stored beyond the head and a head that names another hash', async () => {
    const forged = chainOf(10);
    const head = { ...forged.current };
    append(forged, 2);
    forged.current = head;
    expect(await verifyChain(forged)).toMatchObject({ ok: false, firstBadSeq: 11 });
    const rewritten = chainOf(10);
    rewritten.current = { ...rewritten.current, auditHash: 'f'.repeat(64) };
    expect(await verifyChain(rewritten)).toMatchObject({ ok: false, firstBadSeq: 10 });
  });

  it('hashes exactly what the reference definition hashes', () => {
    // The definition every stored chain was written with: sha256(prev_hash, "\n", canonical JSON of the seven fields).
    const reference = (e: Parameters<typeof auditEntryHash>[0]) => createHash('sha256').update(e.prevHash).update('\n').update(canonicalJson({
      seq: e.seq, time: e.time, actor: e.actor, action: e.action, resource: e.resource, changes: e.changes, request_id: e.requestId,
    })).digest('hex');
    fc.assert(fc.property(
      fc.record({
        seq: fc.integer({ min: 1 }), time: fc.string(), actor: fc.string(), action: fc.string(), resource: fc.string(),
        changes: fc.jsonValue(), requestId: fc.option(fc.string()), prevHash: fc.hexaString({ minLength: 64, maxLength: 64 }),
      }),
      (entry) => auditEntryHash(entry) === reference(entry),
    ), { seed: 9, numRuns: 2000 });
  });

  it('verifies entries stored in canonical form and in the earlier plain JSON form', async () => {
    const journal = chainOf(50);
    journal.entries[10] = { ...journal.entries[10]!, changes: { z: 1, a: { y: [1, 2], b: 'é' } } };
    const prevHash = journal.entries[9]!.hash;
    journal.entries[10]!.prevHash = prevHash;
    journal.entries[10]!.hash = auditEntryHash(journal.entries[10]!);
    // Relink the rest of the chain to the rewritten entry, as a writer would have.
    for (let i = 11; i < 50; i++) {
      journal.entries[i]!.prevHash = journal.entries[i - 1]!.hash;
      journal.entries[i]!.hash = auditEntryHash(journal.entries[i]!);
    }
    journal.current = { ...journal.current, auditHash: journal.entries[49]!.hash };
    expect(await verifyChain(journal)).toMatchObject({ ok: true, entries: 50 });
    const canonical = chainOf(0);
    Object.assign(canonical, journal);
    canonical.storedAuditRange = async (afterSeq: number, limit: number) => (await journal.auditRange(afterSeq, limit)).map(({ changes, ...rest }) => ({ ...rest, changesJson: canonicalJson(changes) }));
    expect(await verifyChain(canonical)).toMatchObject({ ok: true, entries: 50 });
  });
});
