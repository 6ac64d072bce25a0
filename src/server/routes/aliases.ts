import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { presentVersion } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import { ctx } from '../auth.js';
import { matchesEtag, type HotAnswers } from '../hot-path.js';
import { Name, VersionReply, replies } from '../schemas.js';

const AliasParams = Type.Object({ name: Name, alias: Type.String({ minLength: 1, maxLength: 64 }) });

const ResolveReply = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  digest: Type.String(),
  stage: Type.String(),
  aliases: Type.Array(Type.String()),
  status: Type.String(),
  source_uri: Type.Union([Type.String(), Type.Null()]),
  degraded: Type.Boolean(),
  files: Type.Array(Type.Object({ path: Type.String(), digest: Type.String(), size: Type.Integer(), url: Type.String() })),
});

export function aliasRoutes(registry: Registry, hot: HotAnswers): FastifyPluginAsyncTypebox {
  const answers = hot.resolved;
  return async (app) => {
    app.put('/models/:name/aliases/:alias', {
      schema: {
        summary: 'Point an alias at a version (create or move it)',
        tags: ['aliases'],
        params: AliasParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1, maximum: 2147483647 }) }, { additionalProperties: false }),
        response: replies({ 200: VersionReply }),
      },
    }, async (request) => presentVersion(await registry.aliases.set(ctx(request), request.params.name, request.params.alias, request.body.version)));

    app.delete('/models/:name/aliases/:alias', {
      schema: { summary: 'Delete an alias', tags: ['aliases'], params: AliasParams, response: replies({ 204: Type.Null() }) },
    }, async (request, reply) => {
      await registry.aliases.delete(ctx(request), request.params.name, request.params.alias);
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
      const version = await registry.resolver.resolve(request.params.name, request.query.ref, request.arrivedAt);
      const base = `${request.protocol}://${request.host}/api/v1/blobs/`;
      // The hot reads hand out the same frozen Version until something commits: its answer is
      // serialized and hashed once per base URL, not per request (and replayed by hot-path.ts).
      let answer = answers.get(version);
      if (answer?.base !== base) {
        const body = {
          model: version.model, version: version.version, digest: version.digest, stage: version.stage,
          aliases: version.aliases, status: version.status, source_uri: version.sourceUri, degraded: version.degradedAt !== null,
          files: version.files.map((f) => ({ path: f.path, digest: f.digest, size: f.size, url: base + f.digest })),
        };
        // Serialized once, by the route's own serializer: the ETag hashes exactly the bytes sent.
        const json = reply.serialize(body) as string;
        answer = { base, json, etag: `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"` };
        answers.set(version, answer);
      }
      reply.header('etag', answer.etag).header('cache-control', 'no-cache');
      // No body, and so no content type or length (send(null) would declare the 4 bytes of "null").
      if (matchesEtag(request.headers['if-none-match'], answer.etag)) return reply.status(304).send(undefined as unknown as null);
      // A string payload is sent as it is (the reply type describes the body it encodes).
      return reply.type('application/json; charset=utf-8').send(answer.json as unknown as Static<typeof ResolveReply>);
    });
  };
}
