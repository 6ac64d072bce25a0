import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { dossierHtml, dossierMarkdown } from '../../core/dossier-markdown.js';
import type { Registry } from '../../core/registry.js';
import { presentDataset } from '../../core/services/dataset-service.js';
import { INVENTORY_CSV_COLUMNS, inventoryCsvRow, presentInventoryRow } from '../../core/services/inventory-service.js';
import { ctx } from '../auth.js';
import { impactReplyBytes } from '../impact-reply.js';
import { Digest, Name, NextPageToken, PageSize, PageToken, TagMap, replies } from '../schemas.js';

const VersionParams = Type.Object({ name: Name, version: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const DatasetReply = Type.Object({
  name: Type.String(), version: Type.String(), uri: Type.Union([Type.String(), Type.Null()]), digest: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Integer(), Type.Null()]), description: Type.String(), schema: Type.Unknown(), tags: TagMap,
  created_by: Type.String(), created_at: Type.String(),
});
const DatasetName = Type.String({ minLength: 1, maxLength: 128 });

export function lineageRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/datasets', {
      schema: {
        summary: 'Register a dataset version', tags: ['lineage'],
        body: Type.Object({
          name: DatasetName, version: Type.String({ minLength: 1, maxLength: 128 }), uri: Type.Optional(Type.String({ maxLength: 2048 })),
          digest: Type.Optional(Digest), size: Type.Optional(Type.Integer({ minimum: 0 })), description: Type.Optional(Type.String({ maxLength: 10_000 })),
          schema: Type.Optional(Type.Unknown()), tags: Type.Optional(TagMap),
        }, { additionalProperties: false }),
        response: replies({ 201: DatasetReply }),
      },
    }, async (request, reply) => reply.status(201).send(presentDataset(await registry.datasets.create(ctx(request), request.body))));

    app.get('/datasets', {
      schema: {
        summary: 'List dataset versions by name', tags: ['lineage'],
        querystring: Type.Object({ name_prefix: Type.Optional(Type.String({ maxLength: 128 })), page_size: Type.Optional(PageSize), page_token: Type.Optional(PageToken) }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ datasets: Type.Array(DatasetReply), next_page_token: NextPageToken }) }),
      },
    }, async (request) => {
      const page = await registry.datasets.list({ namePrefix: request.query.name_prefix, pageSize: request.query.page_size, pageToken: request.query.page_token });
      return { datasets: page.datasets.map(presentDataset), next_page_token: page.nextPageToken };
    });

    app.get('/datasets/:name', {
      schema: { summary: 'Every version of a dataset, newest first', tags: ['lineage'], params: Type.Object({ name: DatasetName }), response: replies({ 200: Type.Object({ versions: Type.Array(DatasetReply) }) }) },
    }, async (request) => ({ versions: (await registry.datasets.versions(request.params.name)).map(presentDataset) }));

    app.get('/datasets/:name/versions/:version', {
      schema: { summary: 'One dataset version', tags: ['lineage'], params: Type.Object({ name: DatasetName, version: Type.String({ maxLength: 128 }) }), response: replies({ 200: DatasetReply }) },
    }, async (request) => presentDataset(await registry.datasets.get(request.params.name, request.params.version)));

    app.get('/models/:name/versions/:version/lineage', {
      schema: {
        summary: 'Upstream lineage as a graph: datasets, code, run and parents, to a depth', tags: ['lineage'], params: VersionParams,
        querystring: Type.Object({ depth: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })) }, { additionalProperties: false }),
        response: replies({
          200: Type.Object({
            root: Type.String(), depth: Type.Integer(), nodes: Type.Array(Type.Record(Type.String(), Type.Unknown())),
            edges: Type.Array(Type.Object({ from: Type.String(), to: Type.String(), kind: Type.String() })),
          }),
        }),
      },
    }, async (request) => registry.lineage.upstream(request.params.name, request.params.version, request.query.depth ?? 5));

    app.get('/impact', {
      schema: {
        summary: 'Every version built on a dataset (name or name@version), a commit or a parent version, production first', tags: ['lineage'],
        querystring: Type.Object({
          dataset: Type.Optional(Type.String({ maxLength: 260 })), commit: Type.Optional(Type.String({ maxLength: 128 })),
          parent: Type.Optional(Type.String({ maxLength: 160 })),
        }, { additionalProperties: false }),
        response: replies({
          200: Type.Object({
            affected: Type.Array(Type.Object({ model: Type.String(), version: Type.Integer(), stage: Type.String(), aliases: Type.Array(Type.String()), direct: Type.Boolean() })),
            datasets: Type.Array(DatasetReply),
            in_production: Type.Integer(),
          }),
        }),
      },
    }, async (request, reply) => {
      const result = await registry.lineage.impact(request.query);
      const body = { affected: result.affected, datasets: result.datasets.map(presentDataset), in_production: result.affected.filter((a) => a.stage === 'production').length };
      // The schema above still documents the reply; the bytes are written by impact-reply.ts.
      return reply.type('application/json; charset=utf-8').send(impactReplyBytes(body) as unknown as typeof body);
    });

    app.get('/inventory', {
      schema: {
        summary: 'The model inventory (format=csv for a spreadsheet)', tags: ['lineage'],
        querystring: Type.Object({
          risk_tier: Type.Optional(Type.String({ maxLength: 16 })), overdue: Type.Optional(Type.Boolean()), in_production: Type.Optional(Type.Boolean()),
          include_archived: Type.Optional(Type.Boolean()), format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
          page_size: Type.Optional(PageSize), page_token: Type.Optional(PageToken),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const q = request.query;
      const query = { riskTier: q.risk_tier, overdue: q.overdue, inProduction: q.in_production, includeArchived: q.include_archived };
      if (q.format === 'csv') {
        const first = await registry.inventory.list(request.actor, { ...query, pageSize: 500 });
        async function* csv() {
          yield INVENTORY_CSV_COLUMNS.join(',') + '\r\n';
          let page = first;
          for (;;) {
            for (const row of page.rows) yield inventoryCsvRow(row) + '\r\n';
            if (!page.nextPageToken) return;
            page = await registry.inventory.list(request.actor, { ...query, pageSize: 500, pageToken: page.nextPageToken });
          }
        }
        return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="model-inventory.csv"').send(Readable.from(csv()));
      }
      const page = await registry.inventory.list(request.actor, { ...query, pageSize: q.page_size, pageToken: q.page_token });
      return { models: page.rows.map(presentInventoryRow), next_page_token: page.nextPageToken };
    });

    app.get('/models/:name/versions/:version/dossier', {
      schema: {
        summary: 'The evidence dossier of a version: JSON, or format=markdown|html for people', tags: ['lineage'], params: VersionParams,
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('markdown'), Type.Literal('html')])) }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const dossier = await registry.dossiers.build(request.actor, request.params.name, request.params.version);
      if (request.query.format === 'markdown') return reply.header('content-type', 'text/markdown; charset=utf-8').send(dossierMarkdown(dossier));
      if (request.query.format === 'html') {
        return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(dossierHtml(dossier));
      }
      return dossier;
    });
  };
}
