/**
 * Audit verify has the database build the text each entry's hash covers
 * (journal-repository.ts, auditHashInputColumns). Here, on both databases, that text is
 * exactly what audit-chain.ts builds in JavaScript, for fields that need every kind of JSON
 * escaping (on PostgreSQL, all but control characters), through both the prepared read and the
 * Kysely one used inside a transaction; and entries whose text comes out otherwise verify.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryHash, auditHashInput, verifyChain } from '../src/core/audit-chain.js';
import { canonicalJson } from '../src/core/canonical-json.js';
import type { AuditHashInput, StoredAuditEntry } from '../src/core/ports.js';
import { KyselyUnitOfWork } from '../src/db/unit-of-work.js';
import { DIALECTS, scratchDatabase } from './helpers/harness.js';

const AWKWARD = [
  'plain', 'q"uote', 'back\\slash', 'new\nline', 'tab\there', '\b\f\r', 'ctl\u0001\u001f\u007f', 'é ü 中文 😀',
  '\u2028\u2029', '</script>', "it's", '', ' lead and trail ', '{"json":"inside"}',
];

/** Text a database can store as it is: no NUL (PostgreSQL refuses it), no lone surrogate (not UTF-8). */
const storable = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0') && s.isWellFormed());

describe.each(DIALECTS)('audit hash inputs on $name', ({ name }) => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let uow: KyselyUnitOfWork;

  beforeAll(async () => {
    db = await scratchDatabase(name, 'audit-inputs');
    uow = new KyselyUnitOfWork(db.handle);
  });
  afterAll(async () => { await db?.close(); });

  /** Appends entries with these fields to the chain, as a committed change does. */
  async function append(fields: Array<Pick<StoredAuditEntry, 'actor' | 'action' | 'resource' | 'time' | 'requestId'>>): Promise<void> {
    await uow.transaction(async (repos) => {
      const head = await repos.journal.lockHead();
      let { auditSeq: seq, auditHash: prevHash } = head;
      for (const f of fields) {
        seq += 1;
        const entry = { ...f, seq, changes: { note: f.actor, nested: { b: [1, f.resource], a: null } }, prevHash };
        prevHash = auditEntryHash(entry);
        await repos.journal.appendAudit({ ...entry, hash: prevHash });
      }
      await repos.journal.setHead({ ...head, auditSeq: seq, auditHash: prevHash });
    });
  }

  /** Whether the database must build exactly the text JavaScript builds (DbCapabilities.jsonText). */
  const exact = (e: StoredAuditEntry) => name === 'sqlite' || !/[\u0000-\u001f]/.test(`${e.actor}${e.action}${e.resource}${e.time}${e.requestId ?? ''}`);

  /** Every entry's text from the database, next to the text JavaScript builds from its stored fields; how many differ. */
  async function compare(read: (afterSeq: number, limit: number) => Promise<AuditHashInput[]>, stored: StoredAuditEntry[]): Promise<number> {
    const inputs = await read(0, 100_000);
    expect(inputs.map(([seq, , prevHash, hash]) => [Number(seq), prevHash, hash])).toEqual(stored.map((e) => [e.seq, e.prevHash, e.hash]));
    let differ = 0;
    stored.forEach((e, i) => {
      // (`true`: the reader hashed the text itself, to the hash JavaScript's text has.)
      const input = inputs[i]![1] === true ? auditHashInput(e) : inputs[i]![1];
      if (exact(e)) expect(input).toBe(auditHashInput(e));
      else if (input !== auditHashInput(e)) differ += 1;
    });
    return differ;
  }

  it('builds the text JavaScript builds, for fields needing every kind of escaping', async () => {
    await append(AWKWARD.map((s, i) => ({ actor: s, action: `a${i}${s}`, resource: `models/${s}`, time: s, requestId: i % 2 ? s : null })));
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ actor: storable, action: storable, resource: storable, time: storable, requestId: fc.option(storable) }), { minLength: 1, maxLength: 20 }),
      async (fields) => append(fields),
    ), { seed: 27, numRuns: 25 });
    const stored = await uow.read.journal.storedAuditRange(0, 100_000);
    expect(stored.length).toBeGreaterThan(AWKWARD.length);
    // Stored canonical, as every entry written since the chain stores canonical text.
    for (const e of stored) expect(e.changesJson).toBe(canonicalJson(JSON.parse(e.changesJson)));
    const differ = await compare((a, l) => uow.read.journal.auditHashInputs(a, l), stored);
    expect(await uow.transaction(async (repos) => compare((a, l) => repos.journal.auditHashInputs(a, l), stored))).toBe(differ);
    // Those verify too, checked again from their fields.
    if (name === 'postgres') expect(differ).toBeGreaterThan(0);
    expect(await verifyChain(uow.read.journal)).toMatchObject({ ok: true, entries: stored.length });
  });
});
