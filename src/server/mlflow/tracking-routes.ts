/**
 * The tracking endpoints an MLflow client calls to log a run and its model, and the artifact
 * proxy (`/api/2.0/mlflow-artifacts/artifacts/...`) that stores the files in the blob store.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Registry } from '../../core/registry.js';
import type { Experiment, Run } from '../../core/types.js';
import { ctx } from '../auth.js';
import { declaredLength } from '../routes/blobs.js';
import { invalid } from './search.js';

const Opt = Type.Optional;
const Str = Type.String();
const KV = Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Type.String()) })));
const STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

function required<T>(value: T | undefined | null, name: string): T {
  if (value === undefined || value === null || value === '') throw invalid(`Missing value for required parameter '${name}'.`);
  return value;
}

const kv = (list: { key: string; value?: string }[] | undefined) => Object.fromEntries((list ?? []).map((t) => [t.key, t.value ?? '']));

function mlflowExperiment(e: Experiment) {
  return {
    experiment_id: e.id, name: e.name, artifact_location: e.artifactLocation, lifecycle_stage: 'active',
    creation_time: Date.parse(e.createdAt), last_update_time: Date.parse(e.createdAt),
    ...(Object.keys(e.tags).length > 0 ? { tags: Object.entries(e.tags).map(([key, value]) => ({ key, value })) } : {}),
  };
}

export function mlflowRun(r: Run) {
  return {
    info: {
      run_id: r.id, run_uuid: r.id, run_name: r.name, experiment_id: r.experimentId, user_id: r.userId, status: r.status,
      start_time: r.startTime, ...(r.endTime !== null ? { end_time: r.endTime } : {}), artifact_uri: r.artifactUri, lifecycle_stage: 'active',
    },
    data: {
      metrics: Object.entries(r.metrics).map(([key, m]) => ({ key, value: m.value, timestamp: m.timestamp, step: m.step })),
      params: Object.entries(r.params).map(([key, value]) => ({ key, value })),
      tags: Object.entries(r.tags).map(([key, value]) => ({ key, value })),
    },
  };
}

export function mlflowTrackingRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/experiments/get-by-name', { schema: { querystring: Type.Object({ experiment_name: Opt(Str) }) } }, async (request) => ({
      experiment: mlflowExperiment(await registry.tracking.experimentByName(required(request.query.experiment_name, 'experiment_name'))),
    }));

    app.get('/experiments/get', { schema: { querystring: Type.Object({ experiment_id: Opt(Str) }) } }, async (request) => ({
      experiment: mlflowExperiment(await registry.tracking.experiment(required(request.query.experiment_id, 'experiment_id'))),
    }));

    app.post('/experiments/create', { schema: { body: Type.Object({ name: Opt(Str), artifact_location: Opt(Str), tags: KV }) } }, async (request) => {
      const b = request.body ?? {};
      const experiment = await registry.tracking.createExperiment(ctx(request), { name: required(b.name, 'name'), artifactLocation: b.artifact_location || undefined, tags: kv(b.tags) });
      return { experiment_id: experiment.id };
    });

    app.post('/runs/create', {
      schema: { body: Type.Object({ experiment_id: Opt(Str), user_id: Opt(Str), start_time: Opt(Type.Number()), run_name: Opt(Str), tags: KV }) },
    }, async (request) => {
      const b = request.body ?? {};
      const tags = kv(b.tags);
      const run = await registry.tracking.createRun(ctx(request), {
        experimentId: b.experiment_id ?? '0', name: b.run_name || tags['mlflow.runName'], startTime: b.start_time, tags,
      });
      return { run: mlflowRun(run) };
    });

    app.get('/runs/get', { schema: { querystring: Type.Object({ run_id: Opt(Str), run_uuid: Opt(Str) }) } }, async (request) => ({
      run: mlflowRun(await registry.tracking.run(required(request.query.run_id ?? request.query.run_uuid, 'run_id'))),
    }));

    app.post('/runs/update', {
      schema: { body: Type.Object({ run_id: Opt(Str), run_uuid: Opt(Str), status: Opt(Str), end_time: Opt(Type.Number()), run_name: Opt(Str) }) },
    }, async (request) => {
      const b = request.body ?? {};
      if (b.status !== undefined && !STATUSES.includes(b.status)) throw invalid(`Invalid run status ${b.status}`);
      const run = await registry.tracking.updateRun(ctx(request), required(b.run_id ?? b.run_uuid, 'run_id'), {
        status: b.status as Run['status'] | undefined, endTime: b.end_time, name: b.run_name,
      });
      return { run_info: mlflowRun(run).info };
    });

    app.post('/runs/log-batch', {
      schema: {
        body: Type.Object({
          run_id: Opt(Str),
          metrics: Opt(Type.Array(Type.Object({ key: Str, value: Type.Number(), timestamp: Opt(Type.Number()), step: Opt(Type.Number()) }))),
          params: Opt(Type.Array(Type.Object({ key: Str, value: Str }))),
          tags: Opt(Type.Array(Type.Object({ key: Str, value: Str }))),
        }),
      },
    }, async (request) => {
      const b = request.body ?? {};
      await registry.tracking.logBatch(ctx(request), required(b.run_id, 'run_id'), { metrics: b.metrics, params: b.params, tags: b.tags });
      return {};
    });

    app.post('/runs/log-metric', {
      schema: { body: Type.Object({ run_id: Opt(Str), run_uuid: Opt(Str), key: Opt(Str), value: Opt(Type.Number()), timestamp: Opt(Type.Number()), step: Opt(Type.Number()) }) },
    }, async (request) => {
      const b = request.body ?? {};
      await registry.tracking.logBatch(ctx(request), required(b.run_id ?? b.run_uuid, 'run_id'), {
        metrics: [{ key: required(b.key, 'key'), value: required(b.value, 'value'), timestamp: b.timestamp, step: b.step }],
      });
      return {};
    });

    app.post('/runs/log-parameter', { schema: { body: Type.Object({ run_id: Opt(Str), run_uuid: Opt(Str), key: Opt(Str), value: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      await registry.tracking.logBatch(ctx(request), required(b.run_id ?? b.run_uuid, 'run_id'), { params: [{ key: required(b.key, 'key'), value: b.value ?? '' }] });
      return {};
    });

    app.post('/runs/set-tag', { schema: { body: Type.Object({ run_id: Opt(Str), run_uuid: Opt(Str), key: Opt(Str), value: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      await registry.tracking.logBatch(ctx(request), required(b.run_id ?? b.run_uuid, 'run_id'), { tags: [{ key: required(b.key, 'key'), value: b.value ?? '' }] });
      return {};
    });

    // The model's MLmodel description, kept as MLflow keeps it: in the run's mlflow.log-model.history tag.
    app.post('/runs/log-model', { schema: { body: Type.Object({ run_id: Opt(Str), model_json: Opt(Str) }) } }, async (request) => {
      const b = request.body ?? {};
      const runId = required(b.run_id, 'run_id');
      const run = await registry.tracking.run(runId);
      const history = JSON.parse(run.tags['mlflow.log-model.history'] ?? '[]') as unknown[];
      history.push(JSON.parse(required(b.model_json, 'model_json')));
      await registry.tracking.logBatch(ctx(request), runId, { tags: [{ key: 'mlflow.log-model.history', value: JSON.stringify(history) }] });
      return {};
    });
  };
}

/** `/api/2.0/mlflow-artifacts/artifacts/<path>`: PUT bytes, GET them back, GET ?path= lists a directory. */
export function mlflowArtifactRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Clients send artifacts with whatever content type the file has: every body is a stream here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    app.get('/artifacts', { schema: { querystring: Type.Object({ path: Opt(Str) }) } }, async (request) => ({
      files: (await registry.tracking.listArtifacts(request.query.path ?? '')).map((f) => ({ path: f.path, is_dir: f.isDir, ...(f.size !== undefined ? { file_size: f.size } : {}) })),
    }));

    app.put('/artifacts/*', async (request) => {
      const path = (request.params as { '*': string })['*'];
      const body = (request.body as AsyncIterable<Uint8Array> | undefined) ?? request.raw;
      await registry.tracking.putArtifact(ctx(request), path, body, declaredLength(request.headers));
      return {};
    });

    app.get('/artifacts/*', async (request, reply) => {
      const path = (request.params as { '*': string })['*'];
      const artifact = await registry.tracking.artifact(path);
      reply.header('content-type', 'application/octet-stream').header('content-length', artifact.size).header('etag', `"${artifact.digest}"`);
      return reply.send(await registry.blobs.read(artifact.digest));
    });
  };
}
