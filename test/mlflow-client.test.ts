/**
 * A third-party MLflow client from the npm registry (`mlflow`, which speaks MLflow's tracking
 * REST API) driven against the real server: it logs an experiment and a run as it would
 * against an MLflow server, and the run is then registered through the registry API.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.js';

const require = createRequire(import.meta.url);

interface Client {
  Experiments: { create(a: { name: string }): Promise<{ experiment_id: string }>; get(a: { experiment_id: string }): Promise<{ experiment: { name: string } }> };
  Runs: {
    create(a: { experiment_id: string; user_id?: string; start_time?: number; tags?: { key: string; value: string }[] }): Promise<{ run: { info: { run_id: string } } }>;
    logMetric(a: { run_id: string; key: string; value: number; timestamp: number; step: number }): Promise<unknown>;
    logParameter(a: { run_id: string; key: string; value: string }): Promise<unknown>;
    setTag(a: { run_id: string; key: string; value: string }): Promise<unknown>;
    logBatch(a: { run_id: string; metrics: unknown[]; params: unknown[]; tags: unknown[] }): Promise<unknown>;
    update(a: { run_id: string; status: string; end_time: number }): Promise<unknown>;
    get(a: { run_id: string }): Promise<{ run: { info: { status: string }; data: { metrics: { key: string; value: number }[]; params: { key: string; value: string }[]; tags: { key: string; value: string }[] } } }>;
  };
}

describe('a third-party MLflow client (npm "mlflow") against modelgate', () => {
  let t: TestServer;
  let client: Client;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    const MLflow = require('mlflow') as new (args: { endpoint: string; headers: Record<string, string> }) => Client;
    client = new MLflow({ endpoint: t.url, headers: { Authorization: `Bearer ${t.adminToken}` } });
    vi.spyOn(console, 'log').mockImplementation(() => {}); // the client prints every request body
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  it('creates an experiment and a run, logs metrics, params and tags, and finishes it', async () => {
    const { experiment_id } = await client.Experiments.create({ name: 'npm-client' });
    expect((await client.Experiments.get({ experiment_id })).experiment.name).toBe('npm-client');
    const { run } = await client.Runs.create({ experiment_id, user_id: 'admin', start_time: Date.now(), tags: [{ key: 'mlflow.runName', value: 'from-npm' }] });
    const run_id = run.info.run_id;
    await client.Runs.logMetric({ run_id, key: 'loss', value: 0.5, timestamp: Date.now(), step: 0 });
    await client.Runs.logParameter({ run_id, key: 'lr', value: '0.01' });
    await client.Runs.setTag({ run_id, key: 'team', value: 'risk' });
    await client.Runs.logBatch({ run_id, metrics: [{ key: 'loss', value: 0.25, timestamp: Date.now(), step: 1 }], params: [], tags: [] });
    await client.Runs.update({ run_id, status: 'FINISHED', end_time: Date.now() });
    const fetched = await client.Runs.get({ run_id });
    expect(fetched.run.info.status).toBe('FINISHED');
    expect(fetched.run.data.metrics).toEqual([expect.objectContaining({ key: 'loss', value: 0.25 })]);
    expect(fetched.run.data.params).toEqual([{ key: 'lr', value: '0.01' }]);
    expect(fetched.run.data.tags).toEqual(expect.arrayContaining([{ key: 'team', value: 'risk' }]));
    const audit = (await t.admin.listAudit({ resource: `runs/${run_id}` })).entries.map((e) => e.action);
    expect(audit).toEqual(['run.updated', 'run.logged', 'run.logged', 'run.logged', 'run.logged', 'run.created']);
    await expect(client.Runs.get({ run_id: 'no-such-run' })).rejects.toThrow(/RESOURCE_DOES_NOT_EXIST/);
  });
});
