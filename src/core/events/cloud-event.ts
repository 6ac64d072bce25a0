/** Outbox events in the CloudEvents 1.0 JSON format, as webhooks and the event stream carry them. */
import type { OutboxEvent } from '../types.js';

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  /** Extension attribute: the event's place in the registry-wide order. */
  sequence: number;
  data: unknown;
}

export const EVENT_SOURCE = '/modelgate';

export function toCloudEvent(event: OutboxEvent): CloudEvent {
  return {
    specversion: '1.0',
    id: event.id,
    source: EVENT_SOURCE,
    type: event.type,
    time: event.time,
    ...(event.subject ? { subject: event.subject } : {}),
    datacontenttype: 'application/json',
    sequence: event.seq,
    data: event.data,
  };
}

/** Whether an event type matches a subscription pattern: exact, `family.*`, or `*`. */
export function matchesPattern(type: string, pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return type === pattern;
}

export const EVENT_PATTERN = /^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$/;
