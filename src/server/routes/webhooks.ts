import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Registry } from '../../core/registry.js';
import { presentDelivery, presentWebhook } from '../../core/services/webhook-service.js';
import { ctx } from '../auth.js';
import { Name, NextPageToken, PageSize, PageToken, replies } from '../schemas.js';

const WebhookReply = Type.Object({
  id: Type.String(), url: Type.String(), events: Type.Array(Type.String()), model: Type.Union([Type.String(), Type.Null()]),
  active: Type.Boolean(), created_by: Type.String(), created_at: Type.String(), updated_at: Type.String(),
});
const DeliveryReply = Type.Object({
  id: Type.String(), webhook_id: Type.String(), event_id: Type.String(), event_type: Type.String(),
  sequence: Type.Union([Type.Integer(), Type.Null()]), subject: Type.String(), status: Type.String(), attempts: Type.Integer(),
  next_attempt_at: Type.Union([Type.String(), Type.Null()]), last_status: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]), created_at: Type.String(), delivered_at: Type.Union([Type.String(), Type.Null()]),
  attempt_log: Type.Array(Type.Object({
    attempt: Type.Integer(), at: Type.String(), status: Type.Union([Type.Integer(), Type.Null()]), latency_ms: Type.Integer(),
    error: Type.Union([Type.String(), Type.Null()]), response_excerpt: Type.Union([Type.String(), Type.Null()]),
  })),
});
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 80 }), { minItems: 1, maxItems: 50 });
const Secret = Type.String({ minLength: 1, maxLength: 200, description: 'whsec_<base64>; omit to have one generated' });

export function webhookRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/webhooks', {
      schema: {
        summary: 'Subscribe a URL to events; signed with the Standard Webhooks scheme. The secret is returned once.',
        tags: ['webhooks'],
        body: Type.Object({
          url: Type.String({ minLength: 1, maxLength: 2048 }), secret: Type.Optional(Secret), events: Events,
          model: Type.Optional(Name), active: Type.Optional(Type.Boolean()),
        }, { additionalProperties: false }),
        response: replies({ 201: Type.Object({ ...WebhookReply.properties, secret: Type.String() }) }),
      },
    }, async (request, reply) => {
      const { webhook, secret } = await registry.webhooks.create(ctx(request), request.body);
      return reply.status(201).send({ ...presentWebhook(webhook), secret });
    });

    app.get('/webhooks', {
      schema: { summary: 'List webhooks (admins: all; others: their own)', tags: ['webhooks'], response: replies({ 200: Type.Object({ webhooks: Type.Array(WebhookReply) }) }) },
    }, async (request) => ({ webhooks: (await registry.webhooks.list(request.actor)).map(presentWebhook) }));

    app.get('/webhooks/:id', {
      schema: { summary: 'Get a webhook', tags: ['webhooks'], params: IdParams, response: replies({ 200: WebhookReply }) },
    }, async (request) => presentWebhook(await registry.webhooks.get(request.actor, request.params.id)));

    app.patch('/webhooks/:id', {
      schema: {
        summary: 'Change the URL, events, active flag or secret',
        tags: ['webhooks'],
        params: IdParams,
        body: Type.Object({
          url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })), secret: Type.Optional(Secret),
          events: Type.Optional(Events), active: Type.Optional(Type.Boolean()),
        }, { additionalProperties: false }),
        response: replies({ 200: WebhookReply }),
      },
    }, async (request) => presentWebhook(await registry.webhooks.update(ctx(request), request.params.id, request.body)));

    app.delete('/webhooks/:id', {
      schema: { summary: 'Delete a webhook and its delivery log', tags: ['webhooks'], params: IdParams, response: replies({ 204: Type.Null() }) },
    }, async (request, reply) => {
      await registry.webhooks.delete(ctx(request), request.params.id);
      return reply.status(204).send(null);
    });

    app.get('/webhooks/:id/deliveries', {
      schema: {
        summary: 'Deliveries of a webhook, newest first, with every attempt',
        tags: ['webhooks'],
        params: IdParams,
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')])),
          page_size: Type.Optional(PageSize), page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ deliveries: Type.Array(DeliveryReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const q = request.query;
      const page = await registry.webhooks.deliveries(request.actor, request.params.id, { status: q.status, pageSize: q.page_size, pageToken: q.page_token });
      return { deliveries: page.deliveries.map((d) => presentDelivery(d.delivery, d.attempts)), next_page_token: page.nextPageToken };
    });

    app.post('/webhooks/:id/deliveries/:delivery/redeliver', {
      schema: {
        summary: 'Send a failed delivery again', tags: ['webhooks'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }), delivery: Type.String({ maxLength: 64 }) }),
        response: replies({ 200: Type.Object({ requeued: Type.Integer() }) }),
      },
    }, async (request) => ({ requeued: await registry.webhooks.redeliver(ctx(request), request.params.id, request.params.delivery) }));

    app.post('/webhooks/:id/redeliver', {
      schema: { summary: 'Send every failed delivery of the webhook again', tags: ['webhooks'], params: IdParams, response: replies({ 200: Type.Object({ requeued: Type.Integer() }) }) },
    }, async (request) => ({ requeued: await registry.webhooks.redeliver(ctx(request), request.params.id, null) }));

    app.post('/webhooks/:id/test', {
      schema: { summary: 'Send a webhook.test event to this webhook', tags: ['webhooks'], params: IdParams, response: replies({ 202: Type.Object({ delivery_id: Type.String(), event_id: Type.String() }) }) },
    }, async (request, reply) => {
      const delivery = await registry.webhooks.test(ctx(request), request.params.id);
      return reply.status(202).send({ delivery_id: delivery.id, event_id: delivery.eventId });
    });
  };
}
