import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { presentAuditEntry } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import { AuditEntryReply, NextPageToken, PageSize, PageToken, replies } from '../schemas.js';

export function auditRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/audit', {
      schema: {
        summary: 'List audit entries, newest first',
        tags: ['audit'],
        querystring: Type.Object({
          resource: Type.Optional(Type.String({ maxLength: 512, description: 'a resource path; also matches everything under it' })),
          actor: Type.Optional(Type.String({ maxLength: 64 })),
          action: Type.Optional(Type.String({ maxLength: 64, description: 'e.g. version.created, or version.* for a family' })),
          since: Type.Optional(Type.String({ maxLength: 64 })),
          until: Type.Optional(Type.String({ maxLength: 64 })),
          page_size: Type.Optional(PageSize),
          page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ entries: Type.Array(AuditEntryReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const q = request.query;
      const page = await registry.audit.list(request.actor, {
        resource: q.resource, actor: q.actor, action: q.action, since: q.since, until: q.until,
        pageSize: q.page_size, pageToken: q.page_token,
      });
      return { entries: page.entries.map(presentAuditEntry), next_page_token: page.nextPageToken };
    });

    app.get('/audit/verify', {
      schema: {
        summary: 'Recompute the audit chain and report the first entry that was altered',
        tags: ['audit'],
        response: replies({
          200: Type.Object({
            ok: Type.Boolean(), entries: Type.Integer(), head_hash: Type.String(),
            first_bad_seq: Type.Union([Type.Integer(), Type.Null()]), problem: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    }, async (request) => {
      const result = await registry.audit.verify(request.actor);
      return { ok: result.ok, entries: result.entries, head_hash: result.headHash, first_bad_seq: result.firstBadSeq, problem: result.problem };
    });

    app.get('/audit/export', {
      schema: { summary: 'The whole audit chain as JSON Lines, oldest first', tags: ['audit'] },
    }, async (request, reply) => {
      const entries = registry.audit.export(request.actor);
      const first = await entries.next();
      async function* lines() {
        if (first.done) return;
        yield JSON.stringify(presentAuditEntry(first.value)) + '\n';
        for await (const entry of entries) yield JSON.stringify(presentAuditEntry(entry)) + '\n';
      }
      return reply.header('content-type', 'application/x-ndjson').send(Readable.from(lines()));
    });
  };
}
