import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentPolicy, type Policy } from '../../core/policy.js';
import { presentHolding } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import type { ModelPolicyView } from '../../core/services/policy-service.js';
import { ctx } from '../auth.js';
import { HoldingReply, Name, NextPageToken, PageSize, PageToken, PolicyDocument, RuleReply, replies } from '../schemas.js';

const ModelParams = Type.Object({ name: Name });
const PolicyInput = Type.Object({ targets: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: false });
const ModelPolicyReply = Type.Object({
  model: Type.String(),
  targets: Type.Record(Type.String(), RuleReply),
  model_policy: Type.Union([PolicyDocument, Type.Null()]),
  default_policy: PolicyDocument,
});

function presentView(view: ModelPolicyView) {
  return {
    model: view.model,
    targets: presentPolicy(view.effective).targets,
    model_policy: view.own ? presentPolicy(view.own) : null,
    default_policy: presentPolicy(view.serverDefault),
  };
}

export function governanceRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/policy', {
      schema: { summary: 'The server default policy', tags: ['policy'], response: replies({ 200: PolicyDocument }) },
    }, async () => presentPolicy(await registry.policies.getDefault()));

    app.put('/policy', {
      schema: { summary: 'Replace the server default policy (admins)', tags: ['policy'], body: PolicyInput, response: replies({ 200: PolicyDocument }) },
    }, async (request) => presentPolicy(await registry.policies.setDefault(ctx(request), request.body) as Policy));

    app.get('/models/:name/policy', {
      schema: {
        summary: "The model's policy in force (targets), its own rules and the server default",
        tags: ['policy'], params: ModelParams, response: replies({ 200: ModelPolicyReply }),
      },
    }, async (request) => presentView(await registry.policies.getForModel(request.params.name)));

    app.put('/models/:name/policy', {
      schema: {
        summary: "Replace the model's own policy (its owner or admins); unnamed targets follow the server default",
        tags: ['policy'], params: ModelParams, body: PolicyInput, response: replies({ 200: ModelPolicyReply }),
      },
    }, async (request) => presentView(await registry.policies.setForModel(ctx(request), request.params.name, request.body)));

    app.post('/models/:name/rollback', {
      schema: {
        summary: 'Move production (or an alias) back to a version approved for it before',
        tags: ['promotions'],
        params: ModelParams,
        body: Type.Object({
          target: Type.Optional(Type.String({ maxLength: 80, description: 'production (default) or @<alias>' })),
          reason: Type.String({ minLength: 1, maxLength: 10_000 }),
          version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
        }, { additionalProperties: false }),
        response: replies({
          200: Type.Object({
            model: Type.String(), target: Type.String(), from_version: Type.Union([Type.Integer(), Type.Null()]),
            to_version: Type.Integer(), reason: Type.String(),
          }),
        }),
      },
    }, async (request) => {
      const r = await registry.rollbacks.rollback(ctx(request), request.params.name, request.body);
      return { model: r.model, target: r.target, from_version: r.fromVersion, to_version: r.toVersion, reason: r.reason };
    });

    app.get('/models/:name/history', {
      schema: {
        summary: 'Who held production (or a stage or alias) when, by which promotion or rollback, approved by whom',
        tags: ['promotions'],
        params: ModelParams,
        querystring: Type.Object({
          target: Type.Optional(Type.String({ maxLength: 80 })),
          page_size: Type.Optional(PageSize),
          page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ history: Type.Array(HoldingReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const page = await registry.rollbacks.history(request.params.name, {
        target: request.query.target, pageSize: request.query.page_size, pageToken: request.query.page_token,
      });
      return { history: page.holdings.map(presentHolding), next_page_token: page.nextPageToken };
    });
  };
}
