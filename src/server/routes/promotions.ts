import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentPromotion } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import { ctx } from '../auth.js';
import { Name, NextPageToken, PageSize, PageToken, PromotionReply, replies } from '../schemas.js';

const VersionParams = Type.Object({ name: Name, version: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Comment = (required: boolean) => Type.Object(
  { comment: required ? Type.String({ minLength: 1, maxLength: 10_000 }) : Type.Optional(Type.String({ maxLength: 10_000 })) },
  { additionalProperties: false },
);

export function promotionRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/models/:name/versions/:version/promotions', {
      schema: {
        summary: 'Request a move to a stage or alias; checked against the policy, applied once approved',
        tags: ['promotions'],
        params: VersionParams,
        body: Type.Object({
          target: Type.String({ minLength: 1, maxLength: 80, description: 'staging, production, archived or @<alias>' }),
          reason: Type.String({ minLength: 1, maxLength: 10_000 }),
        }, { additionalProperties: false }),
        response: replies({ 201: PromotionReply }),
      },
    }, async (request, reply) => {
      const promotion = await registry.promotions.request(ctx(request), request.params.name, request.params.version, request.body);
      return reply.status(201).send(presentPromotion(promotion));
    });

    app.get('/promotions', {
      schema: {
        summary: 'List promotions, newest first; waiting_for=me is the approvals inbox',
        tags: ['promotions'],
        querystring: Type.Object({
          status: Type.Optional(Type.Union(['pending', 'applied', 'rejected', 'cancelled'].map((s) => Type.Literal(s)))),
          model: Type.Optional(Name),
          target: Type.Optional(Type.String({ maxLength: 80 })),
          waiting_for: Type.Optional(Type.Literal('me')),
          page_size: Type.Optional(PageSize),
          page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ promotions: Type.Array(PromotionReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const q = request.query;
      const page = await registry.promotions.list({
        status: q.status as 'pending' | undefined, model: q.model, target: q.target,
        waitingFor: q.waiting_for === 'me' ? request.actor : undefined, pageSize: q.page_size, pageToken: q.page_token,
      });
      return { promotions: page.promotions.map(presentPromotion), next_page_token: page.nextPageToken };
    });

    app.get('/promotions/:id', {
      schema: {
        summary: "Get a promotion; for production, with the candidate's metrics beside the live version's recent observations",
        tags: ['promotions'], params: IdParams,
        response: replies({ 200: Type.Object({ ...PromotionReply.properties, comparison: Type.Unknown() }) }),
      },
    }, async (request) => {
      const { promotion, comparison } = await registry.promotions.getWithContext(request.params.id);
      return { ...presentPromotion(promotion), comparison };
    });

    app.post('/promotions/:id/approve', {
      schema: { summary: 'Approve; the last approval needed applies the promotion', tags: ['promotions'], params: IdParams, body: Type.Optional(Comment(false)), response: replies({ 200: PromotionReply }) },
    }, async (request) => presentPromotion(await registry.promotions.approve(ctx(request), request.params.id, request.body?.comment ?? '')));

    app.post('/promotions/:id/reject', {
      schema: { summary: 'Reject, saying why; a version waiting in staging goes back to development', tags: ['promotions'], params: IdParams, body: Comment(true), response: replies({ 200: PromotionReply }) },
    }, async (request) => presentPromotion(await registry.promotions.reject(ctx(request), request.params.id, request.body.comment!)));

    app.post('/promotions/:id/cancel', {
      schema: { summary: 'Withdraw a pending promotion (its requester or an admin)', tags: ['promotions'], params: IdParams, body: Type.Optional(Comment(false)), response: replies({ 200: PromotionReply }) },
    }, async (request) => presentPromotion(await registry.promotions.cancel(ctx(request), request.params.id, request.body?.comment ?? '')));
  };
}
