/**
 * One valid request for every route of the server, against a fixture of models, versions,
 * promotions, webhooks, runs and the rest: the authorization matrix calls each as every role,
 * and the fuzz test mutates them into hostile ones.
 */
import { uploadFile, type TestServer } from './harness.js';

export type Caller = 'anonymous' | 'viewer' | 'contributor' | 'approver' | 'admin';

/** The table lists MLflow routes once, and GET for HEAD. */
export function matrixKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url.replace(/^\/ajax-api\/2\.0\//, '/api/2.0/')}`;
}

export interface Fixture {
  digest: string; promotion: string; rejectable: string; cancellable: string; webhook: string; doomedWebhook: string;
  token: string; deployment: string; rule: string; alert: string; upload: string; doomedUpload: string; run: string; experiment: string;
}

export interface Call { path: string; body?: unknown; raw?: Buffer }

/** A request for the route that gets past validation and lookups, so the answer is about who asks. */
export function sample(method: string, url: string, fx: Fixture, caller: Caller): Call {
  const unique = `${caller}-${Math.random().toString(36).slice(2, 8)}`;
  const key = matrixKey(method, url);
  const ml = url.replace(/^\/(ajax-)?api\/2\.0\/mlflow(-artifacts)?/, '');
  const params: Record<string, string> = {
    name: 'm', version: '1', alias: 'candidate', username: 'someone', digest: fx.digest, delivery: '00000000-0000-4000-8000-000000000000',
    id: url.startsWith('/api/v1/promotions') ? fx.promotion : url.startsWith('/api/v1/webhooks') ? fx.webhook
      : url.startsWith('/api/v1/uploads') ? fx.upload : url.startsWith('/api/v1/tokens') ? fx.token : url.startsWith('/api/v1/deployments') ? fx.deployment
      : url.includes('alert-rules') ? fx.rule : url.startsWith('/api/v1/alerts') ? fx.alert : '00000000-0000-4000-8000-000000000000',
    '*': `${fx.run}/artifacts/model/${unique}.bin`,
  };
  if (url.startsWith('/api/v1/datasets')) { params.name = 'ds'; params.version = '1'; }
  if (url.startsWith('/api/v1/environments')) params.name = 'prod';
  if (/\/rename$/.test(url) && !ml) params.name = 'to-rename';
  if (/\/archive$/.test(url)) params.name = 'to-archive';
  if (key === 'DELETE /api/v1/models/:name/versions/:version') params.version = '3';
  if (key === 'POST /api/v1/promotions/:id/reject') params.id = fx.rejectable;
  if (key === 'POST /api/v1/promotions/:id/cancel') params.id = fx.cancellable;
  if (key === 'DELETE /api/v1/webhooks/:id') params.id = fx.doomedWebhook;
  if (key === 'DELETE /api/v1/uploads/:id') params.id = fx.doomedUpload;
  params.number = '1';
  const path = url.replace(/:(\w+)|\*/g, (all, p) => encodeURIComponent(params[p ?? '*'] ?? all)).replace(/%2F/g, '/');
  const hook = { url: 'https://93.184.216.34/hook', events: ['model.*'] };
  const bodies: Record<string, unknown> = {
    'POST /api/v1/uploads': { size: 10 },
    'POST /api/v1/admin/gc': { dry_run: true },
    'POST /api/v1/users': { username: `u-${unique}`, role: 'viewer' },
    'PATCH /api/v1/users/:username': { role: 'viewer' },
    'POST /api/v1/tokens': { name: 't' },
    'POST /api/v1/models': { name: `new-${unique}` },
    'PATCH /api/v1/models/:name': { description: 'edited' },
    'POST /api/v1/models/:name/rename': { new_name: `renamed-${unique}` },
    'POST /api/v1/models/:name/archive': {},
    'PUT /api/v1/models/:name/policy': { targets: {} },
    'POST /api/v1/models/:name/rollback': { reason: 'r' },
    'PUT /api/v1/models/:name/aliases/:alias': { version: 1 },
    'POST /api/v1/models/:name/versions': { source_uri: 's3://bucket/key', digest: `sha256:${'b'.repeat(64)}` },
    'PATCH /api/v1/models/:name/versions/:version': { description: 'edited' },
    'POST /api/v1/models/:name/versions/:version/promotions': { target: '@canary', reason: 'r' },
    'POST /api/v1/models/:name/versions/:version/observations': { metric: 'latency', value: 1, window_start: '2026-01-01T00:00:00Z', window_end: '2026-01-01T01:00:00Z', source: 'test' },
    'POST /api/v1/models/:name/alert-rules': { rule: 'auc >= 0.5' },
    'POST /api/v1/models/:name/deployments': { environment: 'prod', target: `t-${unique}`, version: 1, status: 'serving' },
    'POST /api/v1/promotions/:id/approve': { comment: 'ok' },
    'POST /api/v1/promotions/:id/reject': { comment: 'no' },
    'POST /api/v1/promotions/:id/cancel': {},
    'PUT /api/v1/policy': { targets: {} },
    'POST /api/v1/alerts/:id/resolve': { comment: 'fixed' },
    'POST /api/v1/datasets': { name: `ds-${unique}`, version: '1' },
    'PATCH /api/v1/deployments/:id': { status: 'serving' },
    'PUT /api/v1/environments/:name': { production: false },
    'POST /api/v1/webhooks': hook,
    'PATCH /api/v1/webhooks/:id': { active: true },
    'POST /api/v1/webhooks/:id/redeliver': {},
    'POST /api/v1/webhooks/:id/deliveries/:delivery/redeliver': {},
    'POST /api/v1/webhooks/:id/test': {},
    'POST /api/2.0/mlflow/registered-models/create': { name: `ml-${unique}` },
    'POST /api/2.0/mlflow/registered-models/get-latest-versions': { name: 'm' },
    'POST /api/2.0/mlflow/registered-models/rename': { name: 'ml-rename', new_name: `ml-renamed-${unique}` },
    'PATCH /api/2.0/mlflow/registered-models/update': { name: 'm', description: 'd' },
    'DELETE /api/2.0/mlflow/registered-models/delete': { name: 'ml-delete' },
    'POST /api/2.0/mlflow/registered-models/set-tag': { name: 'm', key: 'k', value: 'v' },
    'DELETE /api/2.0/mlflow/registered-models/delete-tag': { name: 'm', key: 'k' },
    'POST /api/2.0/mlflow/registered-models/alias': { name: 'm', alias: 'ml-alias', version: '1' },
    'DELETE /api/2.0/mlflow/registered-models/alias': { name: 'm', alias: 'ml-alias' },
    'POST /api/2.0/mlflow/model-versions/create': { name: 'm', source: 's3://bucket/ml' },
    'PATCH /api/2.0/mlflow/model-versions/update': { name: 'm', version: '1', description: 'd' },
    'POST /api/2.0/mlflow/model-versions/set-tag': { name: 'm', version: '1', key: 'k', value: 'v' },
    'DELETE /api/2.0/mlflow/model-versions/delete-tag': { name: 'm', version: '1', key: 'k' },
    'DELETE /api/2.0/mlflow/model-versions/delete': { name: 'm', version: url.startsWith('/ajax') ? '5' : '4' },
    'POST /api/2.0/mlflow/model-versions/transition-stage': { name: 'm', version: '2', stage: 'Staging', archive_existing_versions: false },
    'POST /api/2.0/mlflow/experiments/create': { name: `exp-${unique}` },
    'POST /api/2.0/mlflow/runs/create': { experiment_id: fx.experiment },
    'POST /api/2.0/mlflow/runs/update': { run_id: fx.run, status: 'RUNNING' },
    'POST /api/2.0/mlflow/runs/log-batch': { run_id: fx.run, metrics: [], params: [], tags: [] },
    'POST /api/2.0/mlflow/runs/log-metric': { run_id: fx.run, key: 'auc', value: 0.9, timestamp: 1, step: 0 },
    'POST /api/2.0/mlflow/runs/log-parameter': { run_id: fx.run, key: `p-${unique}`, value: '1' },
    'POST /api/2.0/mlflow/runs/set-tag': { run_id: fx.run, key: 'k', value: 'v' },
    'POST /api/2.0/mlflow/runs/log-model': { run_id: fx.run, model_json: '{}' },
  };
  const queries: Record<string, string> = {
    'GET /api/v1/models/:name/resolve': 'ref=1',
    'GET /api/v1/impact': 'dataset=ds',
    'GET /api/2.0/mlflow/registered-models/get': 'name=m',
    'GET /api/2.0/mlflow/registered-models/get-latest-versions': 'name=m',
    'GET /api/2.0/mlflow/registered-models/alias': 'name=m&alias=none',
    'GET /api/2.0/mlflow/model-versions/get': 'name=m&version=1',
    'GET /api/2.0/mlflow/model-versions/get-download-uri': 'name=m&version=1',
    'GET /api/2.0/mlflow/experiments/get': `experiment_id=${fx.experiment}`,
    'GET /api/2.0/mlflow/experiments/get-by-name': 'experiment_name=Default',
    'GET /api/2.0/mlflow/runs/get': `run_id=${fx.run}`,
    'GET /api/2.0/mlflow-artifacts/artifacts': `path=${fx.run}`,
  };
  const query = queries[key];
  if (key === 'PUT /api/v1/uploads/:id/parts/:number' || key === 'POST /api/v1/blobs' || key === 'PUT /api/2.0/mlflow-artifacts/artifacts/*') return { path, raw: Buffer.from(`bytes ${unique}`) };
  if (key === 'GET /api/2.0/mlflow-artifacts/artifacts/*') return { path: path.replace(/[^/]+\.bin$/, 'weights.bin') };
  return { path: query ? `${path}?${query}` : path, body: bodies[key] };
}

/** Creates, as the admin, everything the samples refer to. */
export async function buildFixture(t: TestServer): Promise<Fixture> {
  const a = t.admin;
    const file = await uploadFile(a, 'weights.bin', 'weights');
    for (const name of ['m', 'to-rename', 'to-archive', 'ml-rename', 'ml-delete']) await a.createModel({ name });
    for (let i = 0; i < 5; i++) await a.createVersion('m', { files: [file], metrics: { auc: 0.95 } });
    await a.promote('m', 1, { target: 'staging', reason: 'fixture' });
    const promotion = await a.promote('m', 1, { target: 'production', reason: 'fixture' });
    await a.promote('m', 2, { target: 'staging', reason: 'fixture' });
    const other = await t.as('contributor', 'requester');
    await a.createModel({ name: 'm2' });
    await a.createVersion('m2', { files: [file] });
    const rejectable = await other.promote('m2', 1, { target: 'production', reason: 'fixture' });
    await a.createModel({ name: 'm3' });
    await a.createVersion('m3', { files: [file] });
    const cancellable = await other.promote('m3', 1, { target: 'production', reason: 'fixture' });
    const res = (path: string, body: unknown) => fetch(`${t.url}${path}`, { method: path.startsWith('/api/v1/environments') ? 'PUT' : 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, any>>);
    await res('/api/v1/environments/prod', { production: false });
    const deployment = await res('/api/v1/models/m/deployments', { environment: 'prod', target: 'fixture', version: 1, status: 'serving' });
    const rule = await res('/api/v1/models/m/alert-rules', { rule: 'auc >= 0.5' });
    await res('/api/v1/datasets', { name: 'ds', version: '1' });
    await res('/api/v1/models/m/alert-rules', { rule: 'latency >= 10', windows: 1 });
    await res('/api/v1/models/m/versions/1/observations', { metric: 'latency', value: 100, window_start: '2026-01-01T00:00:00Z', window_end: '2026-01-01T01:00:00Z', source: 'fixture' });
    const alerts = await fetch(`${t.url}/api/v1/alerts?model=m`, { headers: { authorization: `Bearer ${t.adminToken}` } }).then((r) => r.json() as Promise<{ alerts: { id: string }[] }>);
    const webhook = await a.createWebhook({ url: 'https://93.184.216.34/hook', events: ['model.*'] });
    const doomed = await a.createWebhook({ url: 'https://93.184.216.34/other', events: ['model.*'] });
    const token = await a.createToken({ name: 'spare' });
    const upload = await res('/api/v1/uploads', { size: 10 });
    const doomedUpload = await res('/api/v1/uploads', { size: 11 });
    const experiment = await res('/api/2.0/mlflow/experiments/create', { name: 'fixture-exp' });
    const run = await res('/api/2.0/mlflow/runs/create', { experiment_id: experiment.experiment_id });
    const runId = run.run.info.run_id as string;
    await fetch(`${t.url}/api/2.0/mlflow-artifacts/artifacts/${runId}/artifacts/model/weights.bin`, { method: 'PUT', headers: { authorization: `Bearer ${t.adminToken}` }, body: 'weights' });
    return {
      digest: file.digest, promotion: promotion.id, rejectable: rejectable.id, cancellable: cancellable.id, webhook: webhook.id,
      doomedWebhook: doomed.id, token: token.id, deployment: deployment.id, upload: upload.id, doomedUpload: doomedUpload.id, rule: rule.id, alert: alerts.alerts[0]!.id, run: runId, experiment: experiment.experiment_id,
    };
}
