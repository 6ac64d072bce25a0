/**
 * Writes a change's audit entries and outbox events inside the change's own transaction.
 * Services collect records while they work; `flush` appends them all at the end, so the
 * registry-wide head lock is held only for the last moments of the transaction.
 */
import { auditEntryHash } from './audit-chain.js';
import type { Clock, IdSource, Repositories } from './ports.js';
import type { Actor } from './types.js';

/** One change to record: its audit entry and its event share the action name. */
export interface ChangeRecord {
  /** e.g. `version.created`: the audit action and the event type. */
  action: string;
  /** The resource's path, e.g. `models/fraud/versions/3`. */
  resource: string;
  /** The model name the change belongs to, or '' for registry-wide changes (users, tokens). */
  subject: string;
  /** What changed, for the audit entry. */
  changes: Record<string, unknown>;
  /** The resource after the change, for the event. */
  data: Record<string, unknown>;
}

export interface RequestContext {
  actor: Actor;
  requestId: string | null;
}

export class ChangeLog {
  private readonly records: ChangeRecord[] = [];

  record(change: ChangeRecord): void {
    this.records.push(change);
  }

  get size(): number {
    return this.records.length;
  }

  async flush(repos: Repositories, ctx: RequestContext, clock: Clock, ids: IdSource): Promise<void> {
    if (this.records.length === 0) return;
    const head = await repos.journal.lockHead();
    let { auditSeq, auditHash, eventSeq } = head;
    const time = clock.now();
    for (const change of this.records) {
      auditSeq += 1;
      const entry = {
        seq: auditSeq,
        time,
        actor: ctx.actor.username,
        action: change.action,
        resource: change.resource,
        changes: change.changes,
        requestId: ctx.requestId,
        prevHash: auditHash,
      };
      auditHash = auditEntryHash(entry);
      await repos.journal.appendAudit({ ...entry, hash: auditHash });
      eventSeq += 1;
      await repos.journal.appendEvent({
        seq: eventSeq,
        id: ids.uuid(),
        type: change.action,
        subject: change.subject,
        time,
        actor: ctx.actor.username,
        data: { ...change.data, actor: ctx.actor.username },
      });
    }
    await repos.journal.setHead({ auditSeq, auditHash, eventSeq });
    this.records.length = 0;
  }
}
