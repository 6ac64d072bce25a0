/** Reading the audit chain: filtered lists, full export, and verification. */
import { requireRole } from '../access.js';
import { verifyChain, type ChainVerification } from '../audit-chain.js';
import type { CoreDeps } from '../core-deps.js';
import { errors } from '../errors.js';
import { decodePageToken, encodePageToken } from '../page-token.js';
import type { Actor, AuditEntry } from '../types.js';

export interface ListAuditInput {
  resource?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  pageSize?: number;
  pageToken?: string;
}

export class AuditService {
  constructor(private readonly deps: CoreDeps) {}

  async list(actor: Actor, input: ListAuditInput): Promise<{ entries: AuditEntry[]; nextPageToken: string | null }> {
    requireRole(actor, 'viewer', 'reading the audit log');
    const since = input.since === undefined ? undefined : isoTime(input.since, 'since');
    const until = input.until === undefined ? undefined : isoTime(input.until, 'until');
    const shape = { r: input.resource ?? null, a: input.actor ?? null, x: input.action ?? null, s: since ?? null, u: until ?? null };
    let afterSeq: number | undefined;
    if (input.pageToken) {
      const position = decodePageToken(input.pageToken, shape);
      if (typeof position !== 'number' || !Number.isInteger(position)) throw errors.invalidPageToken();
      afterSeq = position;
    }
    const limit = input.pageSize ?? 100;
    const rows = await this.deps.uow.read.journal.listAudit({
      resource: input.resource, actor: input.actor, action: input.action, since, until, afterSeq, limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { entries: page, nextPageToken: rows.length > limit && last ? encodePageToken(shape, last.seq) : null };
  }

  /** Every entry in chain order, a page at a time, for JSON Lines export. */
  async *export(actor: Actor): AsyncGenerator<AuditEntry> {
    requireRole(actor, 'viewer', 'exporting the audit log');
    let after = 0;
    for (;;) {
      const page = await this.deps.uow.read.journal.auditRange(after, 2000);
      yield* page;
      if (page.length < 2000) return;
      after = page[page.length - 1]!.seq;
    }
  }

  async verify(actor: Actor): Promise<ChainVerification> {
    requireRole(actor, 'viewer', 'verifying the audit log');
    return verifyChain(this.deps.uow.read.journal);
  }
}

function isoTime(value: string, field: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw errors.validation(`${field} must be an ISO-8601 time`, { [field]: value });
  return new Date(ms).toISOString();
}
