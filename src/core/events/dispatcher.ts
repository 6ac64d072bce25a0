/**
 * Delivers the outbox to webhooks: at least once, in order per model, with retries. Every
 * server process runs one; they share the work through the database (a locked fan-out
 * cursor, and leases on deliveries taken with SKIP LOCKED on PostgreSQL), never through
 * memory, so each delivery is in one dispatcher's hands at a time.
 */
import type { Clock, Delivery, IdSource, UnitOfWork, Webhook, WebhookSender } from '../ports.js';
import type { OutboxEvent } from '../types.js';
import { matchesPattern, toCloudEvent } from './cloud-event.js';
import { signedHeaders } from './signature.js';

export interface DispatcherOptions {
  /** Attempts before a delivery is marked failed. */
  maxAttempts: number;
  /** The first retry waits about this long; each further one twice as long (with jitter). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claimed delivery stays ours; after a crash another dispatcher takes it over then. */
  leaseMs: number;
  /** How often to look for work when nothing woke us. */
  pollMs: number;
  batch: number;
}

export const DEFAULT_DISPATCHER: DispatcherOptions = {
  maxAttempts: 10, retryBaseMs: 1000, retryMaxMs: 3_600_000, leaseMs: 60_000, pollMs: 500, batch: 50,
};

export class Dispatcher {
  private readonly owner: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private pendingWake = false;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly sender: WebhookSender,
    private readonly clock: Clock,
    private readonly ids: IdSource,
    private readonly options: DispatcherOptions,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.owner = ids.uuid();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loop;
  }

  /** Something was committed: look for work now rather than at the next poll. */
  notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        worked = await this.tick();
      } catch (err) {
        this.onError(err);
      }
      if (!worked && this.running) await this.sleep(this.options.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        self.pendingWake = false;
        resolve();
      }
      this.wake = done;
    });
  }

  /** One round: fan new events out into deliveries, then send what is due. Returns whether anything happened. */
  async tick(): Promise<boolean> {
    const fanned = await this.fanOut();
    const claimed = await this.claimDue();
    // One delivery per webhook and model is claimed at a time (order), so the batch can go out in parallel.
    await Promise.all(claimed.map((d) => this.deliver(d)));
    return fanned > 0 || claimed.length > 0;
  }

  private async fanOut(): Promise<number> {
    return this.uow.transaction(async (repos) => {
      const from = await repos.deliveries.lockFanout();
      const events = await repos.journal.listEvents(from, 500);
      if (events.length === 0) return 0;
      const hooks = (await repos.webhooks.list()).filter((h) => h.active);
      // Events name their model as it was called then; ordering and model filters go by its id,
      // which a rename does not change (former names still find it).
      const modelIds = new Map<string, string | null>();
      for (const subject of new Set(events.map((e) => e.subject))) {
        modelIds.set(subject, subject === '' ? null : (await repos.models.findByName(subject))?.id ?? null);
      }
      const now = this.clock.now();
      const deliveries: Delivery[] = [];
      for (const event of events) {
        const modelId = modelIds.get(event.subject) ?? null;
        for (const hook of hooks) {
          if (wants(hook, event, modelId)) deliveries.push({ ...newDelivery(this.ids.uuid(), hook.id, event, now), orderKey: modelId ?? `subject:${event.subject}` });
        }
      }
      await repos.deliveries.insert(deliveries);
      await repos.deliveries.setFanout(events[events.length - 1]!.seq);
      return events.length;
    });
  }

  private async claimDue(): Promise<Delivery[]> {
    const now = Date.parse(this.clock.now());
    return this.uow.transaction((repos) => repos.deliveries.claim(
      this.owner, new Date(now).toISOString(), new Date(now + this.options.leaseMs).toISOString(), this.options.batch,
    ));
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const hook = await this.uow.read.webhooks.get(delivery.webhookId);
    // Deleted or paused since it was claimed: leave it; the lease runs out and it waits.
    if (!hook || !hook.active) return;
    const timestamp = Math.floor(Date.parse(this.clock.now()) / 1000);
    const headers = signedHeaders(hook.secret, delivery.eventId, timestamp, delivery.payload);
    const result = await this.sender.send(hook.url, headers, delivery.payload);
    const attempts = delivery.attempts + 1;
    const at = this.clock.now();
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const retriable = result.status === null || result.status === 408 || result.status === 429 || result.status >= 500;
    let status: Delivery['status'] = 'delivered';
    let nextAttemptAt = at;
    if (!ok) {
      status = retriable && attempts < this.options.maxAttempts ? 'pending' : 'failed';
      nextAttemptAt = new Date(Date.parse(at) + this.backoff(attempts, result.retryAfter)).toISOString();
    }
    const settled = await this.uow.transaction((repos) => repos.deliveries.settle(delivery.id, this.owner, {
      deliveryId: delivery.id, attempt: attempts, at, status: result.status, latencyMs: result.latencyMs,
      error: result.error, responseExcerpt: result.responseExcerpt,
    }, {
      status, attempts, nextAttemptAt, lastStatus: result.status, lastError: result.error,
      deliveredAt: ok ? at : null,
    }));
    if (settled && (status === 'pending' || ok)) this.notify();
  }

  /** Exponential backoff with jitter; a receiver's Retry-After wins when it asks for longer. */
  private backoff(attempts: number, retryAfterSeconds: number | null): number {
    const exponential = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempts - 1));
    const jittered = exponential * (0.75 + Math.random() * 0.5);
    const asked = retryAfterSeconds === null ? 0 : Math.min(this.options.retryMaxMs, retryAfterSeconds * 1000);
    return Math.max(jittered, asked);
  }
}

function wants(hook: Webhook, event: OutboxEvent, modelId: string | null): boolean {
  if (event.seq <= hook.afterSeq) return false;
  if (hook.modelId && hook.modelId !== modelId) return false;
  return hook.events.some((pattern) => matchesPattern(event.type, pattern));
}

export function newDelivery(id: string, webhookId: string, event: OutboxEvent, now: string): Delivery {
  return {
    id, webhookId, eventSeq: event.seq, eventId: event.id, eventType: event.type, subject: event.subject, orderKey: `subject:${event.subject}`,
    payload: JSON.stringify(toCloudEvent(event)), status: 'pending', attempts: 0, nextAttemptAt: now,
    lastStatus: null, lastError: null, createdAt: now, deliveredAt: null,
  };
}
