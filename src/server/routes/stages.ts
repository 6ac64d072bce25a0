import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentPromotion, presentVersion } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import { ctx } from '../auth.js';
import { Name, NextPageToken, PageSize, PageToken, PromotionReply, VersionReply, replies } from '../schemas.js';

const VersionParams = Type.Object({ name: Name, version: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const AliasParams = Type.Object({ name: Name, alias: Type.String({ minLength: 1, maxLength: 64 }) });

const ResolveReply = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  digest: Type.String(),
  stage: Type.String(),
  aliases: Type.Array(Type.String()),
  status: Type.String(),
  source_uri: Type.Union([Type.String(), Type.Null()]),
  files: Type.Array(Type.Object({ path: Type.String(), digest: Type.String(), size: Type.Integer(), url: Type.String() })),
});

export function stageRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/models/:name/versions/:version/promotions', {
      schema: {
        summary: 'Move a version to a stage or point an alias at it, as a recorded promotion',
        tags: ['promotions'],
        params: VersionParams,
        body: Type.Object({
          target: Type.String({ minLength: 1, maxLength: 80, description: 'staging, production, archived or @<alias>' }),
          reason: Type.String({ minLength: 1, maxLength: 10_000 }),
        }, { additionalProperties: false }),
        response: replies({ 201: PromotionReply }),
      },
    }, async (request, reply) => {
      const promotion = await registry.stages.promote(ctx(request), request.params.name, request.params.version, request.body);
      return reply.status(201).send(presentPromotion(promotion));
    });

    app.get('/promotions', {
      schema: {
        summary: 'List promotions, newest first',
        tags: ['promotions'],
        querystring: Type.Object({
          status: Type.Optional(Type.Union(['pending', 'applied', 'rejected', 'cancelled'].map((s) => Type.Literal(s)))),
          model: Type.Optional(Name),
          page_size: Type.Optional(PageSize),
          page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ promotions: Type.Array(PromotionReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const q = request.query;
      const page = await registry.stages.listPromotions({
        status: q.status as 'pending' | undefined, model: q.model, pageSize: q.page_size, pageToken: q.page_token,
      });
      return { promotions: page.promotions.map(presentPromotion), next_page_token: page.nextPageToken };
    });

    app.get('/promotions/:id', {
      schema: { summary: 'Get a promotion', tags: ['promotions'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: replies({ 200: PromotionReply }) },
    }, async (request) => presentPromotion(await registry.stages.getPromotion(request.params.id)));

    app.put('/models/:name/aliases/:alias', {
      schema: {
        summary: 'Point an alias at a version (create or move it)',
        tags: ['aliases'],
        params: AliasParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1, maximum: 2147483647 }) }, { additionalProperties: false }),
        response: replies({ 200: VersionReply }),
      },
    }, async (request) => presentVersion(await registry.stages.setAlias(ctx(request), request.params.name, request.params.alias, request.body.version)));

    app.delete('/models/:name/aliases/:alias', {
      schema: { summary: 'Delete an alias', tags: ['aliases'], params: AliasParams, response: replies({ 204: Type.Null() }) },
    }, async (request, reply) => {
      await registry.stages.deleteAlias(ctx(request), request.params.name, request.params.alias);
      return reply.status(204).send(null);
    });

    app.get('/models/:name/resolve', {
      schema: {
        summary: 'Resolve production, staging, @alias or a number to one version with download URLs',
        tags: ['resolve'],
        params: Type.Object({ name: Name }),
        querystring: Type.Object({ ref: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false }),
        response: replies({ 200: ResolveReply, 304: Type.Null() }),
      },
    }, async (request, reply) => {
      const version = await registry.resolver.resolve(request.params.name, request.query.ref);
      const base = `${request.protocol}://${request.host}/api/v1/blobs/`;
      const body = {
        model: version.model, version: version.version, digest: version.digest, stage: version.stage,
        aliases: version.aliases, status: version.status, source_uri: version.sourceUri,
        files: version.files.map((f) => ({ path: f.path, digest: f.digest, size: f.size, url: base + f.digest })),
      };
      const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send(null);
      return body;
    });
  };
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
