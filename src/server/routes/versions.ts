import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentVersion } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import { ctx } from '../auth.js';
import { BODY_LIMITS } from '../body-limits.js';
import type { HotAnswers } from '../hot-path.js';
import {
  Digest, FileEntry, LineageInput, Name, NextPageToken, PageSize, PageToken, Stage, TagMap, TagPatch, Text, VersionReply, replies,
} from '../schemas.js';

const VersionParams = Type.Object({ name: Name, version: Type.Integer({ minimum: 1, maximum: 2147483647 }) });

export function versionRoutes(registry: Registry, hot: HotAnswers): FastifyPluginAsyncTypebox {
  const serialized = hot.versions;
  return async (app) => {
    app.post('/models/:name/versions', {
      bodyLimit: BODY_LIMITS.version,
      schema: {
        summary: 'Register a version from uploaded blobs or an external source',
        tags: ['versions'],
        params: Type.Object({ name: Name }),
        body: Type.Object({
          files: Type.Optional(Type.Array(FileEntry, { maxItems: 10_000 })),
          source_uri: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
          digest: Type.Optional(Digest),
          metrics: Type.Optional(Type.Record(Type.String(), Type.Number(), { maxProperties: 1000 })),
          params: Type.Optional(Type.Record(Type.String(), Type.String(), { maxProperties: 1000 })),
          tags: Type.Optional(TagMap),
          description: Type.Optional(Text(10_000)),
          model_card: Type.Optional(Text(1_000_000)),
          signature: Type.Optional(Type.Unknown()),
          lineage: Type.Optional(LineageInput),
        }, { additionalProperties: false }),
        response: replies({ 201: VersionReply }),
      },
    }, async (request, reply) => {
      const b = request.body;
      const version = await registry.versions.create(ctx(request), request.params.name, {
        files: b.files, sourceUri: b.source_uri, digest: b.digest, metrics: b.metrics, params: b.params, tags: b.tags,
        description: b.description, modelCard: b.model_card, signature: b.signature, lineage: b.lineage,
      });
      return reply.status(201).send(presentVersion(version));
    });

    app.get('/models/:name/versions', {
      schema: {
        summary: 'List versions, newest first',
        tags: ['versions'],
        params: Type.Object({ name: Name }),
        querystring: Type.Object({
          stage: Type.Optional(Stage),
          tag: Type.Optional(Type.Array(Type.String({ maxLength: 5200 }), { maxItems: 20 })),
          filter: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 20, description: 'e.g. metrics.auc >= 0.9; repeatable' })),
          created_after: Type.Optional(Type.String({ maxLength: 64 })),
          order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
          page_size: Type.Optional(PageSize),
          page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ versions: Type.Array(VersionReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const q = request.query;
      const page = await registry.versions.list(request.params.name, {
        stage: q.stage, tags: q.tag, filters: q.filter, createdAfter: q.created_after, order: q.order,
        pageSize: q.page_size, pageToken: q.page_token,
      });
      return { versions: page.versions.map(presentVersion), next_page_token: page.nextPageToken };
    });

    app.get('/models/:name/versions/:version', {
      schema: { summary: 'Get a version', tags: ['versions'], params: VersionParams, response: replies({ 200: VersionReply }) },
    }, async (request, reply) => {
      const version = await registry.versions.get(request.params.name, request.params.version, request.arrivedAt);
      // The hot reads hand out the same frozen Version until something commits: serialized once
      // (and replayed by hot-path.ts).
      let json = serialized.get(version);
      if (json === undefined) {
        json = reply.serialize(presentVersion(version)) as string;
        serialized.set(version, json);
      }
      return reply.type('application/json; charset=utf-8').send(json as unknown as ReturnType<typeof presentVersion>);
    });

    app.patch('/models/:name/versions/:version', {
      bodyLimit: BODY_LIMITS.version,
      schema: {
        summary: "Edit a version's description, tags or model card",
        tags: ['versions'],
        params: VersionParams,
        body: Type.Object({
          description: Type.Optional(Text(10_000)),
          tags: Type.Optional(TagPatch),
          model_card: Type.Optional(Type.Union([Text(1_000_000), Type.Null()])),
        }, { additionalProperties: false }),
        response: replies({ 200: VersionReply }),
      },
    }, async (request) => {
      const b = request.body;
      return presentVersion(await registry.versions.update(ctx(request), request.params.name, request.params.version, {
        description: b.description, tags: b.tags, modelCard: b.model_card,
      }));
    });

    app.delete('/models/:name/versions/:version', {
      schema: { summary: 'Delete a version that never left development', tags: ['versions'], params: VersionParams, response: replies({ 204: Type.Null() }) },
    }, async (request, reply) => {
      await registry.versions.delete(ctx(request), request.params.name, request.params.version);
      return reply.status(204).send(null);
    });
  };
}
