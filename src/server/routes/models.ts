import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentModel } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import { ctx } from '../auth.js';
import {
  InventoryInputFields, ModelReply, Name, NextPageToken, PageSize, PageToken, RiskTier, Stage, TagMap, TagPatch, Text, inventoryInput, replies,
} from '../schemas.js';

const ModelParams = Type.Object({ name: Name });

export function modelRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/models', {
      schema: {
        summary: 'Register a model',
        tags: ['models'],
        body: Type.Object({
          name: Name,
          description: Type.Optional(Text(10_000)),
          tags: Type.Optional(TagMap),
          owner: Type.Optional(Type.String({ maxLength: 64 })),
          intended_use: Type.Optional(Text(10_000)),
          restrictions: Type.Optional(Text(10_000)),
          risk_tier: Type.Optional(Type.Union([RiskTier, Type.Null()])),
          ...InventoryInputFields,
        }, { additionalProperties: false }),
        response: replies({ 201: ModelReply }),
      },
    }, async (request, reply) => {
      const b = request.body;
      const model = await registry.models.create(ctx(request), {
        name: b.name, description: b.description, tags: b.tags, owner: b.owner,
        intendedUse: b.intended_use, restrictions: b.restrictions, riskTier: b.risk_tier, ...inventoryInput(b),
      });
      return reply.status(201).send(presentModel(model));
    });

    app.get('/models', {
      schema: {
        summary: 'List models',
        tags: ['models'],
        querystring: Type.Object({
          name_prefix: Type.Optional(Type.String({ maxLength: 128 })),
          tag: Type.Optional(Type.Array(Type.String({ maxLength: 5200 }), { maxItems: 20, description: 'key or key=value; repeatable' })),
          include_archived: Type.Optional(Type.Boolean()),
          risk_tier: Type.Optional(RiskTier),
          stage: Type.Optional(Stage), // only models with a version in this stage
          sort: Type.Optional(Type.Union([Type.Literal('name'), Type.Literal('created_at'), Type.Literal('updated_at')])),
          order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
          page_size: Type.Optional(PageSize),
          page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ models: Type.Array(ModelReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const q = request.query;
      const page = await registry.models.list({
        namePrefix: q.name_prefix, tags: q.tag, riskTier: q.risk_tier, stage: q.stage, includeArchived: q.include_archived, sort: q.sort, order: q.order,
        pageSize: q.page_size, pageToken: q.page_token,
      });
      return { models: page.models.map(presentModel), next_page_token: page.nextPageToken };
    });

    app.get('/models/:name', {
      schema: { summary: 'Get a model (by its name or a former name)', tags: ['models'], params: ModelParams, response: replies({ 200: ModelReply }) },
    }, async (request) => presentModel(await registry.models.get(request.params.name)));

    app.patch('/models/:name', {
      schema: {
        summary: 'Edit a model',
        tags: ['models'],
        params: ModelParams,
        body: Type.Object({
          description: Type.Optional(Text(10_000)),
          tags: Type.Optional(TagPatch),
          owner: Type.Optional(Type.String({ maxLength: 64 })),
          intended_use: Type.Optional(Text(10_000)),
          restrictions: Type.Optional(Text(10_000)),
          risk_tier: Type.Optional(Type.Union([RiskTier, Type.Null()])),
          ...InventoryInputFields,
        }, { additionalProperties: false }),
        response: replies({ 200: ModelReply }),
      },
    }, async (request) => {
      const b = request.body;
      return presentModel(await registry.models.update(ctx(request), request.params.name, {
        description: b.description, tags: b.tags, owner: b.owner, intendedUse: b.intended_use,
        restrictions: b.restrictions, riskTier: b.risk_tier, ...inventoryInput(b),
      }));
    });

    app.post('/models/:name/rename', {
      schema: {
        summary: 'Rename a model; the old name keeps resolving',
        tags: ['models'],
        params: ModelParams,
        body: Type.Object({ new_name: Name }, { additionalProperties: false }),
        response: replies({ 200: ModelReply }),
      },
    }, async (request) => presentModel(await registry.models.rename(ctx(request), request.params.name, request.body.new_name)));

    app.post('/models/:name/archive', {
      schema: { summary: 'Archive a model', tags: ['models'], params: ModelParams, response: replies({ 200: ModelReply }) },
    }, async (request) => presentModel(await registry.models.archive(ctx(request), request.params.name)));
  };
}
