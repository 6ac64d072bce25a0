/** Reading the event stream: the outbox as CloudEvents, after a sequence number. */
import { requireRole } from '../access.js';
import type { CoreDeps } from '../core-deps.js';
import { toCloudEvent, type CloudEvent } from '../events/cloud-event.js';
import type { Actor } from '../types.js';

export class EventService {
  constructor(private readonly deps: CoreDeps) {}

  async after(actor: Actor, seq: number, limit: number): Promise<{ events: CloudEvent[]; nextAfter: number }> {
    requireRole(actor, 'viewer', 'reading events');
    const rows = await this.deps.uow.read.journal.listEvents(seq, limit);
    return { events: rows.map(toCloudEvent), nextAfter: rows.length > 0 ? rows[rows.length - 1]!.seq : seq };
  }

  /** The sequence of the newest event: where a new subscriber starts. */
  async head(actor: Actor): Promise<number> {
    requireRole(actor, 'viewer', 'reading events');
    return (await this.deps.uow.read.journal.head()).eventSeq;
  }
}
