/**
 * The tamper-evident audit chain. Each entry's hash covers its own content (canonical JSON,
 * including its sequence number) and the previous entry's hash, so editing, deleting,
 * inserting or reordering any entry breaks every hash after it.
 */
import { canonicalJson } from './canonical-json.js';
import { sha256Hex } from './digest.js';
import type { AuditHashInput, JournalRepository, StoredAuditEntry } from './ports.js';
import type { AuditEntry } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return sha256Hex(`${entry.prevHash}\n${auditContent(entry, entry.changes === undefined ? undefined : canonicalJson(entry.changes))}`);
}

/**
 * The hashed content: the canonical JSON of seq, time, actor, action, resource, changes and
 * request_id, written out in canonical key order with `changes` already in canonical JSON.
 * The same text as canonicalJson over those seven fields (a test holds the two together).
 */
function auditContent(entry: Omit<AuditEntry, 'hash' | 'changes'>, changesJson: string | undefined): string {
  // canonicalJson leaves out undefined members.
  const changes = changesJson === undefined ? '' : `"changes":${changesJson},`;
  const requestId = entry.requestId === undefined ? '' : `"request_id":${entry.requestId === null ? 'null' : canonicalJson(entry.requestId)},`;
  return `{"action":${canonicalJson(entry.action)},"actor":${canonicalJson(entry.actor)},${changes}${requestId}`
    + `"resource":${canonicalJson(entry.resource)},"seq":${canonicalJson(entry.seq)},"time":${canonicalJson(entry.time)}}`;
}

/**
 * The text a stored entry's hash covers if its `changes` text is stored canonical, as it has
 * been since the chain stores canonical text. The databases build the same text in SQL for
 * verify (db/repositories/journal-repository.ts).
 */
export function auditHashInput(entry: StoredAuditEntry): string {
  return `${entry.prevHash}\n${auditContent(entry, entry.changesJson)}`;
}

/** Whether a stored entry's hash covers its content, taking its `changes` text as stored when that is canonical. */
function storedEntryHashes(entry: StoredAuditEntry): boolean {
  if (sha256Hex(auditHashInput(entry)) === entry.hash) return true;
  // Written before, or altered: parse and canonicalise, as when it was written.
  let changes: unknown;
  try {
    changes = JSON.parse(entry.changesJson);
  } catch {
    return false;
  }
  return auditEntryHash({ ...entry, changes }) === entry.hash;
}

export interface ChainVerification {
  ok: boolean;
  /** How many entries were checked. */
  entries: number;
  headHash: string;
  /** The first entry whose content, position or link is wrong; null when the chain verifies. */
  firstBadSeq: number | null;
  problem: string | null;
}

/** Entries a page of verify's walk holds, unless the journal asks for another size (auditPageSize). */
const PAGE = 5000;
/** Pages read while one is hashed: on PostgreSQL the database builds them in parallel, in processes of its own. */
const READ_AHEAD = 2;

/**
 * Recomputes the whole chain from the first entry and compares it with the stored head.
 *
 * Each entry's hash is checked against the text the database built for it (AuditHashInput),
 * here or by the reader, which then answers `true` in its place.
 * An entry that does not match is read again whole and checked from its fields
 * (storedEntryHashes), so an entry written before the chain stored canonical text, or text the
 * database quoted otherwise, still verifies, and only a real alteration fails.
 *
 * Writers may append while this reads (a page at a time, each page its own read). Entries and
 * the head that counts them commit together, so the head read before the walk counts no entry
 * the walk may miss, and the head read after it counts every entry the walk saw: the chain
 * must reach the first head and match its hash there, and hold nothing the second does not
 * count. Entries committed during the walk are checked like the rest, or next time.
 */
export async function verifyChain(journal: JournalRepository): Promise<ChainVerification> {
  const before = await journal.head();
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let hashAtBefore = before.auditSeq === 0 ? GENESIS_HASH : null;
  let checked = 0;
  const fail = (seq: number, problem: string): ChainVerification => ({
    ok: false, entries: checked, headHash: before.auditHash, firstBadSeq: seq, problem,
  });
  // The walk starts at entry 1: an entry stored below it would be listed but never checked.
  const strays = await journal.auditBeforeChain();
  if (strays.count > 0) {
    return fail(strays.lowest ?? 0, `${strays.count} ${strays.count === 1 ? 'entry is' : 'entries are'} stored before entry 1, outside the chain`);
  }
  // The pages after the one being hashed are read ahead. The walk only goes past a page of
  // `page` entries numbered on from the last, so each page starts `page` entries after the one before.
  // A read that a failure below leaves unread must not fail unhandled.
  const page = Math.max(1, Math.trunc(journal.auditPageSize ?? PAGE) || PAGE);
  const reads: Array<Promise<AuditHashInput[]>> = [];
  for (let pageAfter = 0; ; pageAfter += page) {
    while (reads.length <= READ_AHEAD) {
      const read = journal.auditHashInputs(pageAfter + reads.length * page, page);
      read.catch(() => {});
      reads.push(read);
    }
    const entries = await reads.shift()!;
    // The page read again whole, once, if an entry's text from the database does not match.
    let whole: Map<number, StoredAuditEntry> | null = null;
    for (const [storedSeq, input, storedPrevHash, hash] of entries) {
      const seq = Number(storedSeq);
      if (seq !== expectedSeq) return fail(expectedSeq, `entry ${expectedSeq} is missing (next stored entry is ${seq})`);
      if (storedPrevHash !== prevHash) return fail(seq, `entry ${seq} does not link to the entry before it`);
      if (input !== true && (input === null || sha256Hex(input) !== hash)) {
        whole ??= new Map((await journal.storedAuditRange(pageAfter, entries.length)).map((e) => [e.seq, e]));
        const entry = whole.get(seq);
        if (!entry || entry.prevHash !== storedPrevHash || entry.hash !== hash || !storedEntryHashes(entry)) {
          return fail(seq, `entry ${seq} was altered after it was written`);
        }
      }
      prevHash = hash;
      if (seq === before.auditSeq) hashAtBefore = hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (entries.length < page) break;
  }
  if (checked < before.auditSeq) return fail(checked + 1, `the chain ends at entry ${checked} but ${before.auditSeq} were written`);
  if (hashAtBefore !== before.auditHash) return fail(before.auditSeq, `entry ${before.auditSeq}'s hash does not match the recorded head`);
  const after = await journal.head();
  if (checked > after.auditSeq) return fail(after.auditSeq + 1, `entries after ${after.auditSeq} are stored but were never recorded in the head`);
  if (checked === after.auditSeq && prevHash !== after.auditHash) return fail(checked, `the last entry's hash does not match the recorded head`);
  return { ok: true, entries: checked, headHash: prevHash, firstBadSeq: null, problem: null };
}
