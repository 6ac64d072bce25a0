/**
 * Ports for events: webhook subscriptions, their deliveries and the HTTP sender. Part of
 * core's contract with its adapters, split from ports.ts by subject.
 */
import type { Cursor } from './ports.js';

export interface Webhook {
  id: string;
  url: string;
  /** `whsec_<base64>`: signs deliveries; never returned by the API after creation. */
  secret: string;
  /** Event type patterns: `version.created`, `promotion.*`, `*`. */
  events: string[];
  /** Only events of this model (by id, so a rename keeps the subscription), or all. */
  modelId: string | null;
  model: string | null;
  active: boolean;
  /** Events up to this sequence happened before the webhook existed and are not sent to it. */
  afterSeq: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookRepository {
  insert(webhook: Webhook): Promise<void>;
  get(id: string): Promise<Webhook | null>;
  list(): Promise<Webhook[]>;
  update(id: string, patch: Partial<Pick<Webhook, 'url' | 'secret' | 'events' | 'active'>>, updatedAt: string): Promise<void>;
  delete(id: string): Promise<void>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  webhookId: string;
  /** The outbox sequence of the event, or null for a test event. */
  eventSeq: number | null;
  eventId: string;
  eventType: string;
  /** The model name the event is about, as it was then. */
  subject: string;
  /** Deliveries with the same key (the model's id, so renames do not split it) go out in order. */
  orderKey: string;
  /** The exact JSON body sent, so every attempt and every redelivery sends the same bytes. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface DeliveryAttempt {
  deliveryId: string;
  attempt: number;
  at: string;
  status: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

export interface DeliveryRepository {
  /** Where fan-out has got to in the outbox; locked until the transaction ends. */
  lockFanout(): Promise<number>;
  setFanout(seq: number): Promise<void>;
  insert(deliveries: Delivery[]): Promise<void>;
  /**
   * Leases up to `limit` due pending deliveries whose earlier deliveries (same webhook and
   * subject) are all settled, so each subject's events go out in order. Leased rows are
   * skipped by other dispatchers until the lease ends.
   */
  claim(owner: string, now: string, leaseUntil: string, limit: number): Promise<Delivery[]>;
  /**
   * Records an attempt and the delivery's new state, releasing the lease, but only while the
   * lease is still `owner`'s: returns false (and records nothing) if another dispatcher took over.
   */
  settle(id: string, owner: string, attempt: DeliveryAttempt, state: Pick<Delivery, 'status' | 'attempts' | 'nextAttemptAt' | 'lastStatus' | 'lastError' | 'deliveredAt'>): Promise<boolean>;
  get(id: string): Promise<Delivery | null>;
  list(webhookId: string, query: { status?: DeliveryStatus; beforeCreated?: Cursor; limit: number }): Promise<Delivery[]>;
  attempts(deliveryIds: string[]): Promise<DeliveryAttempt[]>;
  /** Puts failed deliveries back in the queue; returns how many. */
  requeue(webhookId: string, deliveryId: string | null, now: string): Promise<number>;
}

/** The outcome of one HTTP delivery attempt. */
export interface SendResult {
  status: number | null;
  /** Seconds the receiver asked us to wait (Retry-After), if it said. */
  retryAfter: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

/**
 * Sends webhook requests, and decides which URLs may be called at all: http(s) only, and no
 * private, loopback or link-local address unless its host is allow-listed. The check runs
 * when a webhook is saved and again on every send, against the address actually connected to.
 */
export interface WebhookSender {
  /** Throws if the URL may not be called; `internal` says it reaches an allow-listed internal host. */
  check(url: string): Promise<{ internal: boolean }>;
  send(url: string, headers: Record<string, string>, body: string): Promise<SendResult>;
}
