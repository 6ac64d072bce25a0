/**
 * Contract tests for the MLflow-compatible API: each request is shaped the way MLflow's
 * Python client sends it (GET parameters in the query with repeated keys, JSON bodies
 * otherwise, versions as strings), and each answer is checked field by field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, startTestServer, type TestServer } from './helpers/harness.js';

describe.each(DIALECTS)('MLflow registry API on $name', ({ name }) => {
  let t: TestServer;

  beforeAll(async () => { t = await startTestServer(name); });
  afterAll(async () => { await t?.close(); });

  async function ml(method: string, path: string, opts: { query?: Record<string, string | string[]>; body?: unknown; auth?: string; prefix?: string } = {}) {
    const url = new URL(`${t.url}${opts.prefix ?? '/api/2.0/mlflow'}/${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) for (const item of [v].flat()) url.searchParams.append(k, item);
    const headers: Record<string, string> = { authorization: opts.auth ?? `Bearer ${t.adminToken}`, 'user-agent': 'mlflow-python-client/2.7.1' };
    if (method !== 'GET') headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, body: method === 'GET' ? undefined : JSON.stringify(opts.body ?? {}) });
    return { status: response.status, body: await response.json() as Record<string, any> };
  }

  it('creates a registered model and refuses a duplicate with RESOURCE_ALREADY_EXISTS', async () => {
    const created = await ml('POST', 'registered-models/create', { body: { name: 'mlf-model', tags: [{ key: 'team', value: 'risk' }], description: 'from mlflow' } });
    expect(created.status).toBe(200);
    expect(created.body.registered_model).toEqual({
      name: 'mlf-model', creation_timestamp: expect.any(Number), last_updated_timestamp: expect.any(Number),
      description: 'from mlflow', tags: [{ key: 'team', value: 'risk' }],
    });
    expect(await ml('POST', 'registered-models/create', { body: { name: 'mlf-model' } })).toEqual({
      status: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS', message: expect.stringContaining('mlf-model') },
    });
    expect(await ml('GET', 'registered-models/get', { query: { name: 'nope' } })).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    expect(await ml('POST', 'registered-models/create', { body: {} })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
  });

  it('registers a version from a run, which the client polls until READY', async () => {
    const created = await ml('POST', 'model-versions/create', {
      body: { name: 'mlf-model', source: 'runs:/4f1c2a/model', run_id: '4f1c2a', run_link: 'http://mlflow/#/runs/4f1c2a', tags: [{ key: 'flavor', value: 'sklearn' }] },
    });
    expect(created.body.model_version).toEqual({
      name: 'mlf-model', version: '1', creation_timestamp: expect.any(Number), last_updated_timestamp: expect.any(Number),
      user_id: 'admin', current_stage: 'None', source: 'runs:/4f1c2a/model', run_id: '4f1c2a', status: 'READY',
      tags: [{ key: 'flavor', value: 'sklearn' }], run_link: 'http://mlflow/#/runs/4f1c2a',
    });
    const polled = await ml('GET', 'model-versions/get', { query: { name: 'mlf-model', version: '1' } });
    expect(polled.body.model_version.status).toBe('READY');
    expect(await ml('GET', 'model-versions/get-download-uri', { query: { name: 'mlf-model', version: '1' } })).toEqual({ status: 200, body: { artifact_uri: 'runs:/4f1c2a/model' } });
    const lineage = await t.admin.getVersion('mlf-model', 1);
    expect(lineage.lineage.run).toEqual({ id: '4f1c2a', url: 'http://mlflow/#/runs/4f1c2a' });
    expect(await ml('GET', 'model-versions/get', { query: { name: 'mlf-model', version: 'x' } })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
  });

  it('moves stages through the model policy: staging at once, production only after approval', async () => {
    const staged = await ml('POST', 'model-versions/transition-stage', { body: { name: 'mlf-model', version: '1', stage: 'staging', archive_existing_versions: false } });
    expect(staged).toMatchObject({ status: 200, body: { model_version: { version: '1', current_stage: 'Staging' } } });
    const refused = await ml('POST', 'model-versions/transition-stage', { body: { name: 'mlf-model', version: '1', stage: 'Production', archive_existing_versions: true } });
    expect(refused.status).toBe(403);
    expect(refused.body.error_code).toBe('PERMISSION_DENIED');
    const id = /promotion ([0-9a-f-]{36}) is pending/.exec(refused.body.message)![1]!;
    expect((await t.admin.getVersion('mlf-model', 1)).stage).toBe('staging');
    await (await t.as('approver')).approve(id, 'reviewed the MLflow run');
    const latest = await ml('POST', 'registered-models/get-latest-versions', { body: { name: 'mlf-model', stages: ['Production'] } });
    expect(latest.body.model_versions.map((v: { version: string; current_stage: string }) => [v.version, v.current_stage])).toEqual([['1', 'Production']]);
    const viaGet = await ml('GET', 'registered-models/get-latest-versions', { query: { name: 'mlf-model', stages: ['Production', 'Staging'] } });
    expect(viaGet.body.model_versions).toHaveLength(1);
    expect(await ml('POST', 'model-versions/transition-stage', { body: { name: 'mlf-model', version: '1', stage: 'Shipped', archive_existing_versions: false } }))
      .toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const audit = (await t.admin.listAudit({ resource: 'models/mlf-model', action: 'promotion.*' })).entries.map((e) => e.action);
    expect(audit).toContain('promotion.approved');
  });

  it('sets, reads and deletes aliases with MLflow rules, and guards protected ones', async () => {
    expect(await ml('POST', 'registered-models/alias', { body: { name: 'mlf-model', alias: 'champion', version: '1' } })).toEqual({ status: 200, body: {} });
    expect((await ml('GET', 'registered-models/alias', { query: { name: 'mlf-model', alias: 'champion' } })).body.model_version).toMatchObject({ version: '1', aliases: ['champion'] });
    const model = await ml('GET', 'registered-models/get', { query: { name: 'mlf-model' } });
    expect(model.body.registered_model.aliases).toEqual([{ alias: 'champion', version: '1' }]);
    expect(await ml('DELETE', 'registered-models/alias', { body: { name: 'mlf-model', alias: 'champion' } })).toEqual({ status: 200, body: {} });
    expect(await ml('GET', 'registered-models/alias', { query: { name: 'mlf-model', alias: 'champion' } })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(await ml('POST', 'registered-models/alias', { body: { name: 'mlf-model', alias: 'latest', version: '1' } })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(await ml('POST', 'registered-models/alias', { body: { name: 'mlf-model', alias: 'v2', version: '1' } })).toMatchObject({ status: 400 });
    await t.admin.setModelPolicy('mlf-model', { targets: { '@prod': { approvals_required: 1 } } });
    const guarded = await ml('POST', 'registered-models/alias', { body: { name: 'mlf-model', alias: 'prod', version: '1' } });
    expect(guarded).toMatchObject({ status: 403, body: { error_code: 'PERMISSION_DENIED', message: expect.stringMatching(/promotion [0-9a-f-]{36} is pending/) } });
  });

  it('searches models and versions with MLflow filters, order_by and page tokens', async () => {
    for (const n of ['search-a', 'search-b', 'search-c']) await ml('POST', 'registered-models/create', { body: { name: n, tags: [{ key: 'kind', value: n === 'search-b' ? 'odd' : 'even' }] } });
    const first = await ml('GET', 'registered-models/search', { query: { filter: "name LIKE 'search-%'", max_results: '2', order_by: ['name DESC'] } });
    expect(first.body.registered_models.map((m: { name: string }) => m.name)).toEqual(['search-c', 'search-b']);
    const second = await ml('GET', 'registered-models/search', { query: { filter: "name LIKE 'search-%'", max_results: '2', order_by: ['name DESC'], page_token: first.body.next_page_token } });
    expect(second.body.registered_models.map((m: { name: string }) => m.name)).toEqual(['search-a']);
    expect(second.body.next_page_token).toBeUndefined();
    const tagged = await ml('GET', 'registered-models/search', { query: { filter: "tags.kind = 'even' AND name ILIKE 'SEARCH-%'" } });
    expect(tagged.body.registered_models.map((m: { name: string }) => m.name)).toEqual(['search-a', 'search-c']);
    expect(await ml('GET', 'registered-models/search', { query: { filter: "name = 'x' OR 1=1" } })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    for (let i = 0; i < 3; i++) await ml('POST', 'model-versions/create', { body: { name: 'search-a', source: `s3://b/${i}`, run_id: `run-${i}` } });
    const versions = await ml('GET', 'model-versions/search', { query: { filter: "name='search-a' AND version_number >= 2", order_by: ['version_number ASC'] } });
    expect(versions.body.model_versions.map((v: { version: string }) => v.version)).toEqual(['2', '3']);
    const byRun = await ml('GET', 'model-versions/search', { query: { filter: "run_id IN ('run-0', 'run-2')" } });
    expect(byRun.body.model_versions.map((v: { run_id: string }) => v.run_id).sort()).toEqual(['run-0', 'run-2']);
  });

  it('edits descriptions and tags, renames, deletes versions softly, and speaks on the ajax prefix too', async () => {
    await ml('POST', 'registered-models/create', { body: { name: 'mlf-edit' } });
    expect((await ml('PATCH', 'registered-models/update', { body: { name: 'mlf-edit', description: 'described' } })).body.registered_model.description).toBe('described');
    expect(await ml('POST', 'registered-models/set-tag', { body: { name: 'mlf-edit', key: 'owner', value: 'risk' } })).toEqual({ status: 200, body: {} });
    expect(await ml('DELETE', 'registered-models/delete-tag', { body: { name: 'mlf-edit', key: 'owner' } })).toEqual({ status: 200, body: {} });
    expect(await ml('DELETE', 'registered-models/delete-tag', { body: { name: 'mlf-edit', key: 'owner' } })).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    await ml('POST', 'model-versions/create', { body: { name: 'mlf-edit', source: 's3://b/e' } });
    await ml('POST', 'model-versions/set-tag', { body: { name: 'mlf-edit', version: '1', key: 'validated', value: 'yes' } });
    expect((await t.admin.getVersion('mlf-edit', 1)).tags).toEqual({ validated: 'yes', 'mlflow.source': 's3://b/e' });
    expect((await ml('PATCH', 'model-versions/update', { body: { name: 'mlf-edit', version: '1', description: 'v1' } })).body.model_version.description).toBe('v1');
    expect(await ml('DELETE', 'model-versions/delete', { body: { name: 'mlf-edit', version: '1' } })).toEqual({ status: 200, body: {} });
    expect((await ml('POST', 'model-versions/create', { body: { name: 'mlf-edit', source: 's3://b/e2' } })).body.model_version.version).toBe('2');
    const renamed = await ml('POST', 'registered-models/rename', { body: { name: 'mlf-edit', new_name: 'mlf-edited' } });
    expect(renamed.body.registered_model.name).toBe('mlf-edited');
    const ajax = await ml('GET', 'registered-models/get', { query: { name: 'mlf-edited' }, prefix: '/ajax-api/2.0/mlflow' });
    expect(ajax.body.registered_model.name).toBe('mlf-edited');
    expect(await ml('DELETE', 'registered-models/delete', { body: { name: 'mlf-edited' } })).toEqual({ status: 200, body: {} });
    expect((await t.admin.getModel('mlf-edited')).archived).toBe(true);
  });

  it('logs a run and its model through tracking and the artifact proxy, then registers it with real digests', async () => {
    const missing = await ml('GET', 'experiments/get-by-name', { query: { experiment_name: 'fraud-training' } });
    expect(missing).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    const { body: { experiment_id } } = await ml('POST', 'experiments/create', { body: { name: 'fraud-training' } });
    expect((await ml('GET', 'experiments/get-by-name', { query: { experiment_name: 'fraud-training' } })).body.experiment).toMatchObject({ experiment_id, name: 'fraud-training', lifecycle_stage: 'active' });
    const created = await ml('POST', 'runs/create', { body: { experiment_id, user_id: 'admin', start_time: 1764000000000, run_name: 'gbm-7', tags: [{ key: 'mlflow.source.name', value: 'train.py' }] } });
    const run = created.body.run.info;
    expect(run).toMatchObject({ run_name: 'gbm-7', experiment_id, status: 'RUNNING', lifecycle_stage: 'active', artifact_uri: `mlflow-artifacts:/${experiment_id}/${run.run_id}/artifacts` });
    expect(await ml('POST', 'runs/log-batch', {
      body: { run_id: run.run_id, metrics: [{ key: 'auc', value: 0.91, timestamp: 1, step: 0 }, { key: 'auc', value: 0.94, timestamp: 2, step: 1 }], params: [{ key: 'max_depth', value: '6' }], tags: [] },
    })).toEqual({ status: 200, body: {} });
    expect(await ml('POST', 'runs/log-parameter', { body: { run_id: run.run_id, key: 'max_depth', value: '7' } })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const files: Record<string, string> = { 'model/MLmodel': 'flavors: {sklearn: {}}\n', 'model/model.pkl': 'pickled-bytes', 'model/requirements.txt': 'scikit-learn==1.5.2\n' };
    for (const [path, content] of Object.entries(files)) {
      const put = await fetch(`${t.url}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${run.run_id}/artifacts/${path}`, {
        method: 'PUT', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream' }, body: content,
      });
      expect(put.status).toBe(200);
    }
    const listing = await fetch(`${t.url}/api/2.0/mlflow-artifacts/artifacts?path=${experiment_id}/${run.run_id}/artifacts/model`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect((await listing.json()).files).toEqual(Object.entries(files).map(([path, content]) => ({ path: path.slice('model/'.length), is_dir: false, file_size: Buffer.byteLength(content) })));
    const got = await fetch(`${t.url}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${run.run_id}/artifacts/model/model.pkl`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(await got.text()).toBe('pickled-bytes');
    await ml('POST', 'runs/update', { body: { run_id: run.run_id, status: 'FINISHED', end_time: 1764000100000 } });
    await ml('POST', 'registered-models/create', { body: { name: 'from-run' } });
    const version = await ml('POST', 'model-versions/create', { body: { name: 'from-run', source: `runs:/${run.run_id}/model`, run_id: run.run_id } });
    expect(version.body.model_version).toMatchObject({ version: '1', source: `runs:/${run.run_id}/model`, run_id: run.run_id, status: 'READY' });
    const registered = await t.admin.getVersion('from-run', 1);
    expect(registered.files.map((f) => f.path)).toEqual(['MLmodel', 'model.pkl', 'requirements.txt']);
    expect(new TextDecoder().decode(await t.admin.downloadBlob(registered.files[1]!.digest))).toBe('pickled-bytes');
    expect(registered).toMatchObject({ metrics: { auc: 0.94 }, params: { max_depth: '6' }, lineage: { run: { id: run.run_id, experiment: experiment_id } } });
    const fetched = await ml('GET', 'runs/get', { query: { run_id: run.run_id } });
    expect(fetched.body.run.info).toMatchObject({ status: 'FINISHED', end_time: 1764000100000 });
    expect(fetched.body.run.data.metrics).toEqual([{ key: 'auc', value: 0.94, timestamp: 2, step: 1 }]);
  });

  it("answers MLflow's auth and routing errors in MLflow's shape", async () => {
    const basic = `Basic ${Buffer.from(`admin:${t.adminToken}`).toString('base64')}`;
    expect((await ml('GET', 'registered-models/get', { query: { name: 'mlf-model' }, auth: basic })).status).toBe(200);
    expect(await ml('GET', 'registered-models/get', { query: { name: 'mlf-model' }, auth: `Basic ${Buffer.from(`mallory:${t.adminToken}`).toString('base64')}` }))
      .toMatchObject({ status: 401, body: { error_code: 'UNAUTHENTICATED' } });
    expect(await ml('GET', 'registered-models/get', { query: { name: 'mlf-model' }, auth: 'Bearer mgt_nope' })).toMatchObject({ status: 401, body: { error_code: 'UNAUTHENTICATED' } });
    expect(await ml('GET', 'no/such/endpoint')).toMatchObject({ status: 404, body: { error_code: 'ENDPOINT_NOT_FOUND' } });
    const viewer = await t.as('viewer', 'mlf-viewer');
    const { token } = await t.admin.createToken({ username: 'mlf-viewer', name: 'mlflow' });
    void viewer;
    expect(await ml('POST', 'registered-models/create', { body: { name: 'not-allowed' }, auth: `Bearer ${token}` })).toMatchObject({ status: 403, body: { error_code: 'PERMISSION_DENIED' } });
    const text = await fetch(`${t.url}/api/2.0/mlflow/registered-models/create`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'text/plain' }, body: 'name=x' });
    expect(text.status).toBe(400);
    expect((await text.json()).error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});
