/**
 * Webhook subscriptions and their delivery log. Admins subscribe to anything; a model's
 * owner may subscribe to that model's events. Secrets are shown once, at creation.
 */
import { createHash } from 'node:crypto';
import { hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import { EVENT_PATTERN } from '../events/cloud-event.js';
import { newDelivery } from '../events/dispatcher.js';
import { checkWebhookSecret, newWebhookSecret } from '../events/signature.js';
import type { RequestContext } from '../journal.js';
import { decodeCursor, encodePageToken } from '../page-token.js';
import type { Delivery, DeliveryAttempt, DeliveryStatus, Repositories, Webhook, WebhookSender } from '../ports.js';
import type { Actor } from '../types.js';
import { requireModel } from './lookup.js';

export interface WebhookInput {
  url: string;
  secret?: string;
  events: string[];
  model?: string;
  active?: boolean;
}

/**
 * A webhook as the audit log and the event stream see it: URLs of chat and CI hooks often
 * carry their secret in the path, so only the origin and a hash of the full URL are shown.
 */
export function presentWebhookRedacted(w: Webhook) {
  const { url, ...rest } = presentWebhook(w);
  return { ...rest, url_origin: new URL(url).origin, url_sha256: createHash('sha256').update(url).digest('hex') };
}

export function presentWebhook(w: Webhook) {
  return {
    id: w.id, url: w.url, events: w.events, model: w.model, active: w.active,
    created_by: w.createdBy, created_at: w.createdAt, updated_at: w.updatedAt,
  };
}

export function presentDelivery(d: Delivery, attempts: DeliveryAttempt[]) {
  return {
    id: d.id, webhook_id: d.webhookId, event_id: d.eventId, event_type: d.eventType, sequence: d.eventSeq, subject: d.subject,
    status: d.status, attempts: d.attempts, next_attempt_at: d.status === 'pending' ? d.nextAttemptAt : null,
    last_status: d.lastStatus, last_error: d.lastError, created_at: d.createdAt, delivered_at: d.deliveredAt,
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt, at: a.at, status: a.status, latency_ms: a.latencyMs, error: a.error, response_excerpt: a.responseExcerpt,
    })),
  };
}

export class WebhookService {
  constructor(private readonly deps: CoreDeps, private readonly sender: WebhookSender) {}

  async create(ctx: RequestContext, input: WebhookInput): Promise<{ webhook: Webhook; secret: string }> {
    requireRole(ctx.actor, 'contributor', 'creating a webhook');
    checkEvents(input.events);
    const secret = input.secret === undefined ? newWebhookSecret() : checkWebhookSecret(input.secret);
    await this.checkUrl(ctx.actor, input.url);
    return change(this.deps, ctx, async (repos, log) => {
      const model = input.model === undefined ? null : await requireModel(repos, input.model);
      if (!hasRole(ctx.actor, 'admin') && (!model || model.owner !== ctx.actor.username)) {
        throw errors.forbidden('admins may subscribe to anything; a model owner only to their model (set model)');
      }
      const now = this.deps.clock.now();
      const webhook: Webhook = {
        id: this.deps.ids.uuid(), url: input.url, secret, events: [...new Set(input.events)], modelId: model?.id ?? null,
        model: model?.name ?? null, active: input.active ?? true, afterSeq: (await repos.journal.lockHead()).eventSeq,
        createdBy: ctx.actor.username, createdAt: now, updatedAt: now,
      };
      await repos.webhooks.insert(webhook);
      log.record({
        action: 'webhook.created', resource: `webhooks/${webhook.id}`, subject: model?.name ?? '',
        changes: { ...presentWebhookRedacted(webhook) },
        data: { webhook: presentWebhookRedacted(webhook) },
      });
      return { webhook, secret };
    });
  }

  async list(actor: Actor): Promise<Webhook[]> {
    requireRole(actor, 'contributor', 'listing webhooks');
    const all = await this.deps.uow.read.webhooks.list();
    return hasRole(actor, 'admin') ? all : all.filter((w) => w.createdBy === actor.username);
  }

  async get(actor: Actor, id: string): Promise<Webhook> {
    return this.manageable(this.deps.uow.read, actor, id);
  }

  async update(ctx: RequestContext, id: string, input: Partial<Omit<WebhookInput, 'model'>>): Promise<Webhook> {
    if (input.events !== undefined) checkEvents(input.events);
    if (input.secret !== undefined) checkWebhookSecret(input.secret);
    if (input.url !== undefined) await this.checkUrl(ctx.actor, input.url);
    return change(this.deps, ctx, async (repos, log) => {
      const before = await this.manageable(repos, ctx.actor, id);
      await repos.webhooks.update(id, { url: input.url, secret: input.secret, events: input.events, active: input.active }, this.deps.clock.now());
      const after = (await repos.webhooks.get(id))!;
      log.record({
        action: 'webhook.updated', resource: `webhooks/${id}`, subject: after.model ?? '',
        changes: {
          ...(input.url !== undefined ? { url: { from: presentWebhookRedacted(before).url_origin, to: presentWebhookRedacted(after).url_origin, url_sha256: presentWebhookRedacted(after).url_sha256 } } : {}),
          ...(input.events !== undefined ? { events: { from: before.events, to: after.events } } : {}),
          ...(input.active !== undefined ? { active: { from: before.active, to: after.active } } : {}),
          ...(input.secret !== undefined ? { secret: 'rotated' } : {}),
        },
        data: { webhook: presentWebhookRedacted(after) },
      });
      return after;
    });
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    await change(this.deps, ctx, async (repos, log) => {
      const hook = await this.manageable(repos, ctx.actor, id);
      await repos.webhooks.delete(id);
      log.record({
        action: 'webhook.deleted', resource: `webhooks/${id}`, subject: hook.model ?? '',
        changes: { url_origin: presentWebhookRedacted(hook).url_origin }, data: { webhook: presentWebhookRedacted(hook) },
      });
    });
  }

  async deliveries(actor: Actor, id: string, input: { status?: DeliveryStatus; pageSize?: number; pageToken?: string }) {
    const repos = this.deps.uow.read;
    await this.manageable(repos, actor, id);
    const limit = input.pageSize ?? 50;
    const shape = { w: id, s: input.status ?? null };
    let before: { key: string; id: string } | undefined;
    if (input.pageToken) {
      before = decodeCursor(input.pageToken, shape);
    }
    const rows = await repos.deliveries.list(id, { status: input.status, beforeCreated: before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const attempts = await repos.deliveries.attempts(page.map((d) => d.id));
    const last = page[page.length - 1];
    return {
      deliveries: page.map((d) => ({ delivery: d, attempts: attempts.filter((a) => a.deliveryId === d.id) })),
      nextPageToken: rows.length > limit && last ? encodePageToken(shape, { key: last.createdAt, id: last.id }) : null,
    };
  }

  /** Queues failed deliveries again: one, or all of the webhook's. */
  async redeliver(ctx: RequestContext, id: string, deliveryId: string | null): Promise<number> {
    return change(this.deps, ctx, async (repos, log) => {
      await this.manageable(repos, ctx.actor, id);
      if (deliveryId !== null) {
        const delivery = await repos.deliveries.get(deliveryId);
        if (!delivery || delivery.webhookId !== id) throw new ModelgateError('NOT_FOUND', `webhook ${id} has no delivery ${deliveryId}`);
        if (delivery.status !== 'failed') {
          throw new ModelgateError('CONFLICT', `delivery ${deliveryId} is ${delivery.status}; only failed deliveries are redelivered`, { status: delivery.status });
        }
      }
      const count = await repos.deliveries.requeue(id, deliveryId, this.deps.clock.now());
      log.record({
        action: 'webhook.redelivered', resource: `webhooks/${id}`, subject: '',
        changes: { delivery: deliveryId ?? 'all failed', requeued: count }, data: { webhook_id: id, requeued: count },
      });
      return count;
    });
  }

  /** Queues a `webhook.test` event for this webhook alone; the request itself is audited. */
  async test(ctx: RequestContext, id: string): Promise<Delivery> {
    return change(this.deps, ctx, async (repos, log) => {
      const hook = await this.manageable(repos, ctx.actor, id);
      const now = this.deps.clock.now();
      const delivery = newDelivery(this.deps.ids.uuid(), hook.id, {
        seq: 0, id: this.deps.ids.uuid(), type: 'webhook.test', subject: hook.model ?? '', time: now, actor: ctx.actor.username,
        data: { webhook_id: hook.id, message: 'a test event from modelgate', actor: ctx.actor.username },
      }, now);
      const test = { ...delivery, eventSeq: null, orderKey: `test:${delivery.id}` };
      await repos.deliveries.insert([test]);
      log.record({
        action: 'webhook.tested', resource: `webhooks/${id}`, subject: hook.model ?? '',
        changes: { delivery: test.id, event: test.eventId }, data: { webhook: presentWebhookRedacted(hook), delivery_id: test.id },
      });
      return test;
    });
  }

  private async manageable(repos: Repositories, actor: Actor, id: string): Promise<Webhook> {
    requireRole(actor, 'contributor', 'managing webhooks');
    const hook = await repos.webhooks.get(id);
    if (!hook || (!hasRole(actor, 'admin') && hook.createdBy !== actor.username)) {
      throw new ModelgateError('NOT_FOUND', `webhook ${id} does not exist`, { webhook_id: id });
    }
    return hook;
  }

  /** Only admins may point webhooks at internal hosts, even allow-listed ones: they see the replies. */
  private async checkUrl(actor: Actor, url: string): Promise<void> {
    if (url.length > 2048) throw errors.validation('url is longer than 2048 characters');
    const { internal } = await this.sender.check(url);
    if (internal && !hasRole(actor, 'admin')) throw errors.forbidden('only admins may point webhooks at internal hosts');
  }
}

function checkEvents(events: string[]): void {
  if (events.length === 0) throw errors.validation('events must list at least one event type or pattern, e.g. "promotion.*" or "*"');
  for (const pattern of events) {
    if (!EVENT_PATTERN.test(pattern)) throw errors.validation(`event pattern ${JSON.stringify(pattern)} must be a type like version.created, a family like promotion.*, or *`);
  }
}
