/**
 * The MLflow model-registry endpoints, mapped onto modelgate's own services: one registry,
 * two front doors, the same audit chain, events and governance. Stage transitions and
 * protected aliases go through promotions; when approval is needed MLflow's client hears
 * PERMISSION_DENIED with the promotion id, and nothing moves until it is approved.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requireRole } from '../../core/access.js';
import { ModelgateError } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import type { Model, Stage, Version } from '../../core/types.js';
import { ctx } from '../auth.js';
import { SOURCE_TAG, STAGE_TO_MLFLOW, mlflowModel, mlflowVersion, stageFromMlflow } from './convert.js';
import { comparator, invalid, matches, parseFilter } from './search.js';

const Tags = Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Type.String()) })));
const Str = Type.String();
const Opt = Type.Optional;
const MAX_RESULTS = 1000;

function required<T>(value: T | undefined | null, name: string): T {
  if (value === undefined || value === null || value === '') throw invalid(`Missing value for required parameter '${name}'.`);
  return value;
}

function versionNumber(value: string | number | undefined): number {
  const text = String(required(value, 'version'));
  if (!/^[1-9]\d{0,9}$/.test(text)) throw invalid(`Invalid model version number ${JSON.stringify(text)}: it must be a positive integer`);
  return Number(text);
}

/** MLflow's alias rules, then modelgate's own (which are stricter). */
function checkMlflowAlias(alias: string): string {
  if (!/^[\w-]*$/.test(alias) || alias.length > 255) throw invalid(`Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores and dashes.`);
  if (alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) throw invalid(`'${alias}' alias name (case insensitive) is reserved.`);
  return alias;
}

function offsetToken(token: string | undefined): number {
  if (!token) return 0;
  const n = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o:/, ''));
  if (!Number.isInteger(n) || n < 0) throw invalid('Invalid page token');
  return n;
}

function page<T>(items: T[], maxResults: number | undefined, token: string | undefined): { items: T[]; next?: string } {
  const limit = maxResults ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RESULTS) throw invalid(`max_results must be between 1 and ${MAX_RESULTS}`);
  const start = offsetToken(token);
  const slice = items.slice(start, start + limit);
  return start + limit < items.length ? { items: slice, next: Buffer.from(`o:${start + limit}`).toString('base64url') } : { items: slice };
}

async function fullModel(registry: Registry, model: Model) {
  const latest = await registry.versions.latestPerStage(model.name);
  return mlflowModel(model, latest, await registry.aliases.list(model.name));
}

async function allModels(registry: Registry): Promise<Model[]> {
  const out: Model[] = [];
  let token: string | undefined;
  do {
    const page = await registry.models.list({ pageSize: 1000, pageToken: token });
    out.push(...page.models);
    token = page.nextPageToken ?? undefined;
  } while (token);
  return out;
}

async function allVersions(registry: Registry, model: string): Promise<Version[]> {
  const out: Version[] = [];
  let token: string | undefined;
  do {
    const page = await registry.versions.list(model, { pageSize: 1000, pageToken: token, order: 'asc' });
    out.push(...page.versions);
    token = page.nextPageToken ?? undefined;
  } while (token);
  return out;
}

/** Moves a version through modelgate's promotions, answering as MLflow would when it applied. */
async function promoteOrRefuse(registry: Registry, request: FastifyRequest, model: string, version: number, target: string): Promise<void> {
  const promotion = await registry.promotions.request(ctx(request), model, version, { target, reason: `requested through the MLflow API by ${request.actor.username}` });
  if (promotion.status !== 'applied') {
    throw new ModelgateError('APPROVAL_REQUIRED',
      `Moving version ${version} of ${model} to ${target} needs approval under the model's policy: promotion ${promotion.id} is pending. ` +
      `An approver runs \`modelgate approve ${promotion.id}\` (or POST /api/v1/promotions/${promotion.id}/approve).`,
      { promotion_id: promotion.id });
  }
}

export function mlflowRegistryRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/registered-models/create', { schema: { body: Type.Object({ name: Opt(Str), tags: Tags, description: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      const tags = Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value ?? '']));
      const model = await registry.models.create(ctx(request), { name: required(b.name, 'name'), tags, description: b.description });
      return { registered_model: await fullModel(registry, model) };
    });

    app.get('/registered-models/get', { schema: { querystring: Type.Object({ name: Opt(Str) }) } }, async (request) => ({
      registered_model: await fullModel(registry, await registry.models.get(required(request.query.name, 'name'))),
    }));

    app.post('/registered-models/rename', { schema: { body: Type.Object({ name: Opt(Str), new_name: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      const model = await registry.models.rename(ctx(request), required(b.name, 'name'), required(b.new_name, 'new_name'));
      return { registered_model: await fullModel(registry, model) };
    });

    app.patch('/registered-models/update', { schema: { body: Type.Object({ name: Opt(Str), description: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      const model = await registry.models.update(ctx(request), required(b.name, 'name'), { description: b.description });
      return { registered_model: await fullModel(registry, model) };
    });

    // A governed registry keeps what it has recorded: "delete" archives the model (refused while it is in production).
    app.delete('/registered-models/delete', { schema: { body: Type.Optional(Type.Object({ name: Opt(Str) })) } }, async (request) => {
      await registry.models.archive(ctx(request), required(request.body?.name, 'name'));
      return {};
    });

    app.get('/registered-models/search', {
      schema: { querystring: Type.Object({ filter: Opt(Str), max_results: Opt(Type.Integer()), order_by: Opt(Type.Array(Str)), page_token: Opt(Str) }) },
    }, async (request) => {
      const q = request.query;
      const clauses = parseFilter(q.filter);
      const found = (await allModels(registry)).filter((m) => matches(clauses, (key) => (key === 'name' ? m.name : m.tags[key.slice(5)]), ['name', 'tags']));
      found.sort(comparator<Model>(q.order_by ?? [], (m, key) => (key === 'name' ? m.name : key === 'creation_timestamp' ? Date.parse(m.createdAt) : Date.parse(m.updatedAt)),
        ['name', 'creation_timestamp', 'last_updated_timestamp', 'timestamp'], 'name'));
      const { items, next } = page(found, q.max_results, q.page_token);
      return { registered_models: await Promise.all(items.map((m) => fullModel(registry, m))), ...(next ? { next_page_token: next } : {}) };
    });

    const latest = async (request: FastifyRequest, name: string | undefined, stages: string[] | undefined) => {
      const wanted = (stages ?? []).map((s) => {
        const stage = stageFromMlflow(s);
        if (!stage) throw invalid(`Invalid Model Version stage: ${s}. Value must be one of None, Staging, Production, Archived.`);
        return stage;
      });
      const versions = await registry.versions.latestPerStage(required(name, 'name'), wanted.length > 0 ? wanted : undefined);
      void request;
      return { model_versions: versions.map(mlflowVersion) };
    };
    app.post('/registered-models/get-latest-versions', { schema: { body: Type.Optional(Type.Object({ name: Opt(Str), stages: Opt(Type.Array(Str)) })) } },
      async (request) => latest(request, request.body?.name, request.body?.stages));
    app.get('/registered-models/get-latest-versions', { schema: { querystring: Type.Object({ name: Opt(Str), stages: Opt(Type.Array(Str)) }) } },
      async (request) => latest(request, request.query.name, request.query.stages));

    app.post('/registered-models/set-tag', { schema: { body: Type.Object({ name: Opt(Str), key: Opt(Str), value: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      await registry.models.update(ctx(request), required(b.name, 'name'), { tags: { [required(b.key, 'key')]: b.value ?? '' } });
      return {};
    });

    app.delete('/registered-models/delete-tag', { schema: { body: Type.Optional(Type.Object({ name: Opt(Str), key: Opt(Str) })) } }, async (request) => {
      const b = request.body ?? {};
      const key = required(b.key, 'key');
      const model = await registry.models.get(required(b.name, 'name'));
      if (!(key in model.tags)) throw new ModelgateError('NOT_FOUND', `No tag with name: ${key} in registered model ${model.name}`);
      await registry.models.update(ctx(request), model.name, { tags: { [key]: null } });
      return {};
    });

    app.post('/registered-models/alias', { schema: { body: Type.Object({ name: Opt(Str), alias: Opt(Str), version: Opt(Type.Union([Str, Type.Integer()])) }) } }, async (request) => {
      const b = request.body ?? {};
      const name = required(b.name, 'name');
      const alias = checkMlflowAlias(required(b.alias, 'alias'));
      const version = versionNumber(b.version);
      if (await registry.aliases.isProtected(name, alias)) await promoteOrRefuse(registry, request, name, version, `@${alias}`);
      else await registry.aliases.set(ctx(request), name, alias, version);
      return {};
    });

    app.delete('/registered-models/alias', { schema: { body: Type.Optional(Type.Object({ name: Opt(Str), alias: Opt(Str) })) } }, async (request) => {
      await registry.aliases.delete(ctx(request), required(request.body?.name, 'name'), required(request.body?.alias, 'alias'));
      return {};
    });

    app.get('/registered-models/alias', { schema: { querystring: Type.Object({ name: Opt(Str), alias: Opt(Str) }) } }, async (request) => {
      const name = required(request.query.name, 'name');
      const alias = required(request.query.alias, 'alias');
      try {
        const version = await registry.resolver.resolve(name, `@${alias}`, request.arrivedAt);
        return { model_version: mlflowVersion(version) };
      } catch (err) {
        // MLflow answers a missing alias with INVALID_PARAMETER_VALUE, not a 404.
        if (err instanceof ModelgateError && err.code === 'ALIAS_NOT_FOUND') throw invalid(`Registered model alias ${alias} not found.`);
        throw err;
      }
    });

    app.post('/model-versions/create', {
      schema: { body: Type.Object({ name: Opt(Str), source: Opt(Str), run_id: Opt(Str), tags: Tags, run_link: Opt(Str), description: Opt(Str) }) },
    }, async (request) => {
      const b = request.body ?? {};
      const tags = Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value ?? '']));
      const source = required(b.source, 'source');
      // A model logged through this server: its files are in the blob store, with digests, and its run is known.
      const logged = await registry.tracking.manifestFor(source);
      const runId = b.run_id ?? logged?.run?.id;
      const run = logged?.run ?? null;
      const version = await registry.versions.create(ctx(request), required(b.name, 'name'), {
        ...(logged ? { files: logged.files } : { sourceUri: source, digestUnknown: true }),
        tags: { ...tags, [SOURCE_TAG]: source }, description: b.description,
        metrics: run ? Object.fromEntries(Object.entries(run.metrics).map(([k, m]) => [k, m.value])) : undefined,
        params: run?.params,
        lineage: runId ? { run: { id: runId, ...(b.run_link ? { url: b.run_link } : {}), ...(run ? { experiment: run.experimentId } : {}) } } : undefined,
      });
      return { model_version: mlflowVersion(version) };
    });

    app.get('/model-versions/get', { schema: { querystring: Type.Object({ name: Opt(Str), version: Opt(Str) }) } }, async (request) => ({
      model_version: mlflowVersion(await registry.versions.get(required(request.query.name, 'name'), versionNumber(request.query.version), request.arrivedAt)),
    }));

    app.patch('/model-versions/update', { schema: { body: Type.Object({ name: Opt(Str), version: Opt(Type.Union([Str, Type.Integer()])), description: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      const version = await registry.versions.update(ctx(request), required(b.name, 'name'), versionNumber(b.version), { description: b.description });
      return { model_version: mlflowVersion(version) };
    });

    app.delete('/model-versions/delete', { schema: { body: Type.Optional(Type.Object({ name: Opt(Str), version: Opt(Type.Union([Str, Type.Integer()])) })) } }, async (request) => {
      await registry.versions.delete(ctx(request), required(request.body?.name, 'name'), versionNumber(request.body?.version));
      return {};
    });

    app.get('/model-versions/get-download-uri', { schema: { querystring: Type.Object({ name: Opt(Str), version: Opt(Str) }) } }, async (request) => {
      const version = await registry.versions.get(required(request.query.name, 'name'), versionNumber(request.query.version), request.arrivedAt);
      return { artifact_uri: mlflowVersion(version).source };
    });

    app.post('/model-versions/transition-stage', {
      schema: { body: Type.Object({ name: Opt(Str), version: Opt(Type.Union([Str, Type.Integer()])), stage: Opt(Str), archive_existing_versions: Opt(Type.Boolean()) }) },
    }, async (request) => {
      const b = request.body ?? {};
      const name = required(b.name, 'name');
      const number = versionNumber(b.version);
      const stage = stageFromMlflow(required(b.stage, 'stage'));
      if (!stage) throw invalid(`Invalid Model Version stage: ${b.stage}. Value must be one of None, Staging, Production, Archived.`);
      if (stage === 'development') throw invalid('A version returns to None only when a promotion of it is rejected; it cannot be moved there directly.');
      // Refused before the no-op below: a viewer may not even ask.
      requireRole(request.actor, 'contributor', 'moving a version to another stage');
      const current = await registry.versions.get(name, number);
      // Moving to the stage it is in changes nothing, as in MLflow. Production archives its predecessor either way: one production version per model.
      if (current.stage !== stage) await promoteOrRefuse(registry, request, name, number, stage as Exclude<Stage, 'development'>);
      return { model_version: mlflowVersion(await registry.versions.get(name, number)) };
    });

    app.post('/model-versions/set-tag', { schema: { body: Type.Object({ name: Opt(Str), version: Opt(Type.Union([Str, Type.Integer()])), key: Opt(Str), value: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      await registry.versions.update(ctx(request), required(b.name, 'name'), versionNumber(b.version), { tags: { [required(b.key, 'key')]: b.value ?? '' } });
      return {};
    });

    app.delete('/model-versions/delete-tag', { schema: { body: Type.Optional(Type.Object({ name: Opt(Str), version: Opt(Type.Union([Str, Type.Integer()])), key: Opt(Str) })) } }, async (request) => {
      const b = request.body ?? {};
      await registry.versions.update(ctx(request), required(b.name, 'name'), versionNumber(b.version), { tags: { [required(b.key, 'key')]: null } });
      return {};
    });

    app.get('/model-versions/search', {
      schema: { querystring: Type.Object({ filter: Opt(Str), max_results: Opt(Type.Integer()), order_by: Opt(Type.Array(Str)), page_token: Opt(Str) }) },
    }, async (request) => {
      const q = request.query;
      const clauses = parseFilter(q.filter);
      const byName = clauses.find((c) => c.key === 'name' && c.op === '=');
      const models = byName ? [String(byName.value)] : (await allModels(registry)).map((m) => m.name);
      const versions: Version[] = [];
      for (const model of models) {
        try {
          versions.push(...(await allVersions(registry, model)));
        } catch (err) {
          if (!(err instanceof ModelgateError && err.code === 'MODEL_NOT_FOUND')) throw err;
        }
      }
      const field = (v: Version, key: string): string | number | undefined => {
        switch (key) {
          case 'name': return v.model;
          case 'run_id': return v.lineage.run?.id;
          case 'source_path': return v.sourceUri ?? undefined;
          case 'version_number': return v.version;
          case 'creation_timestamp': return Date.parse(v.createdAt);
          case 'last_updated_timestamp': return Date.parse(v.updatedAt);
          case 'current_stage': return STAGE_TO_MLFLOW[v.stage];
          default: return key.startsWith('tags.') ? v.tags[key.slice(5)] : undefined;
        }
      };
      const found = versions.filter((v) => matches(clauses, (key) => field(v, key), ['name', 'run_id', 'source_path', 'version_number', 'creation_timestamp', 'last_updated_timestamp', 'tags']));
      found.sort(comparator<Version>(q.order_by ?? [], (v, key) => field(v, key === 'version' ? 'version_number' : key) ?? '',
        ['name', 'version_number', 'version', 'creation_timestamp', 'last_updated_timestamp', 'run_id'], 'last_updated_timestamp DESC'));
      const { items, next } = page(found, q.max_results, q.page_token);
      return { model_versions: items.map(mlflowVersion), ...(next ? { next_page_token: next } : {}) };
    });
  };
}
