import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS, expectApiError, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

const day = (d: number) => new Date(Date.UTC(2026, 10, d)).toISOString();

describe.each(DIALECTS)('deployments and production feedback on $name', ({ name }) => {
  let t: TestServer;
  let deployer: ModelgateClient;
  let monitor: ModelgateClient;

  beforeAll(async () => {
    t = await startTestServer(name);
    deployer = await t.as('contributor', 'argo');
    monitor = await t.as('contributor', 'monitoring');
    await t.admin.createModel({ name: 'fraud' });
    const file = await uploadFile(t.admin, 'w.bin', 'fraud');
    for (let i = 0; i < 3; i++) await t.admin.createVersion('fraud', { files: [file], metrics: { auc: 0.9 + i / 100 } });
    await t.ship('fraud', 1);
    await t.admin.setEnvironment('prod-eu', { production: true });
    await t.admin.setEnvironment('staging-eu', { production: false });
  });
  afterAll(async () => { await t?.close(); });

  it('records what runs where, refuses unapproved versions in production, and keeps the history', async () => {
    await expectApiError(deployer.recordDeployment('fraud', { environment: 'prod-eu', target: 'fraud-api', version: 2, status: 'deploying' }), 422, 'NOT_APPROVED_FOR_PRODUCTION');
    const canary = await deployer.recordDeployment('fraud', { environment: 'staging-eu', target: 'fraud-api', version: 2, status: 'serving', replicas: 1 });
    expect(canary.drift).toBe(false);
    const prod = await deployer.recordDeployment('fraud', { environment: 'prod-eu', target: 'fraud-api', version: 1, status: 'deploying', replicas: 3, source: 'argocd' });
    expect(prod).toMatchObject({ model: 'fraud', version: 1, status: 'deploying', reported_by: 'argo', source: 'argocd', drift: false });
    await deployer.updateDeployment(prod.id, { status: 'serving', traffic_share: 1, note: 'rollout complete' });
    await expectApiError(deployer.updateDeployment(prod.id, { version: 3 }), 422, 'NOT_APPROVED_FOR_PRODUCTION');
    await expectApiError(deployer.updateDeployment(prod.id, { traffic_share: 2 }), 400, 'VALIDATION_FAILED');
    const where = await t.admin.listDeployments({ model: 'fraud', active: true });
    expect(where.map((d) => [d.environment, d.version, d.status])).toEqual([['prod-eu', 1, 'serving'], ['staging-eu', 2, 'serving']]);
    expect((await t.admin.listDeployments({ environment: 'prod-eu' })).map((d) => d.id)).toEqual([prod.id]);
    const history = await t.admin.deploymentHistory(prod.id);
    expect(history.changes.map((c) => [c.status, c.note])).toEqual([['deploying', 'recorded'], ['serving', 'rollout complete']]);
    const audit = (await t.admin.listAudit({ resource: `models/fraud/deployments/${prod.id}` })).entries.map((e) => e.action);
    expect(audit).toEqual(['deployment.updated', 'deployment.recorded']);
    const events = (await t.admin.listEvents({ after: 0, limit: 1000 })).events.filter((e) => e.type.startsWith('deployment.'));
    expect(events.map((e) => e.type)).toEqual(['deployment.recorded', 'deployment.recorded', 'deployment.updated']);
  });

  it('flags drift when production runs a version that is no longer approved for it', async () => {
    await t.admin.setEnvironment('prod-us', { production: true, require_approved: false });
    const unapproved = await deployer.recordDeployment('fraud', { environment: 'prod-us', target: 'fraud-api', version: 3, status: 'serving' });
    expect(unapproved.drift).toBe(true);
    await deployer.updateDeployment(unapproved.id, { status: 'retired' });
    expect((await t.admin.listDeployments({ environment: 'prod-us', active: true }))).toEqual([]);
  });

  it('raises an alert exactly when a rule breaks for N windows, marks the version degraded, and never moves production', async () => {
    await expectApiError(monitor.createAlertRule('fraud', 'psi > 0.2', 2), 403, 'FORBIDDEN');
    const rule = await t.admin.createAlertRule('fraud', 'psi > 0.2', 2);
    expect(rule).toMatchObject({ metric: 'psi', op: '>', threshold: 0.2, windows: 2 });
    await t.admin.createAlertRule('fraud', 'auc < 0.85');
    const obs = (metric: string, value: number, d: number) => monitor.observe('fraud', 1, { metric, value, window_start: day(d), window_end: day(d + 1), source: 'evidently' });
    expect((await obs('psi', 0.2, 1)).alerts_raised).toEqual([]); // at the threshold: not above it
    expect((await obs('psi', 0.25, 2)).alerts_raised).toEqual([]); // one window is not two
    expect((await t.admin.getVersion('fraud', 1)).degraded).toBe(false);
    const raised = await obs('psi', 0.31, 3);
    expect(raised.alerts_raised).toHaveLength(1);
    expect(raised.alerts_raised[0]).toMatchObject({ rule_id: rule.id, version: 1, model: 'fraud' });
    expect((await obs('psi', 0.4, 4)).alerts_raised).toEqual([]); // already open: raised once
    expect((await obs('auc', 0.85, 4)).alerts_raised).toEqual([]);
    expect((await obs('auc', 0.84, 5)).alerts_raised).toHaveLength(1);
    const version = await t.admin.getVersion('fraud', 1);
    expect(version).toMatchObject({ degraded: true, stage: 'production' });
    const resolved = await t.admin.resolve('fraud', 'production');
    expect(resolved!.resolved).toMatchObject({ version: 1, degraded: true });
    expect((await t.admin.alerts({ model: 'fraud', open: true }))).toHaveLength(2);
    const types = (await t.admin.listEvents({ after: 0, limit: 1000 })).events.map((e) => e.type);
    expect(types.filter((x) => x === 'alert.raised')).toHaveLength(2);
    expect(types.filter((x) => x === 'version.degraded')).toHaveLength(1);
    const open = await t.admin.alerts({ model: 'fraud', open: true });
    await t.admin.resolveAlert(open[0]!.id, 'retrained features, drift gone');
    expect((await t.admin.getVersion('fraud', 1)).degraded).toBe(true); // one alert still open
    await t.admin.resolveAlert(open[1]!.id, 'auc back above threshold');
    expect((await t.admin.getVersion('fraud', 1)).degraded).toBe(false);
    expect(await t.admin.alerts({ model: 'fraud', open: true })).toEqual([]);
    await t.admin.createAlertRule('fraud', 'psi > 0.2', 2); // a rule fires again only after resolution
    const again = await monitor.observe('fraud', 1, { metric: 'psi', value: 0.5, window_start: day(6), window_end: day(7), source: 'evidently' });
    expect(again.alerts_raised).toHaveLength(2); // both psi rules see two breaking windows (days 3-4 and 6)
    await t.admin.resolveAlert(again.alerts_raised[0]!.id, 'noted');
    await t.admin.resolveAlert(again.alerts_raised[1]!.id, 'noted');
  });

  it('refuses nonsense observations', async () => {
    const base = { metric: 'auc', value: 0.9, window_start: day(1), window_end: day(2), source: 'job' };
    await expectApiError(monitor.observe('fraud', 99, base), 404, 'VERSION_NOT_FOUND');
    await expectApiError(monitor.observe('nope', 1, base), 404, 'MODEL_NOT_FOUND');
    await expectApiError(monitor.observe('fraud', 1, { ...base, window_end: day(1) }), 400, 'VALIDATION_FAILED');
    await expectApiError(monitor.observe('fraud', 1, { ...base, window_start: 'yesterday' }), 400, 'VALIDATION_FAILED');
    await expectApiError(monitor.observe('fraud', 1, { ...base, metric: 'bad metric' }), 400, 'INVALID_NAME');
    const raw = await fetch(`${t.url}/api/v1/models/fraud/versions/1/observations`, {
      method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: '{"metric":"auc","value":1e400,"window_start":"2026-11-01T00:00:00Z","window_end":"2026-11-02T00:00:00Z","source":"x"}',
    });
    expect(raw.status).toBe(400);
    await expectApiError(monitor.observe('fraud', 1, { ...base, deployment_id: 'not-a-deployment' }), 404, 'NOT_FOUND');
    const viewer = await t.as('viewer');
    await expectApiError(viewer.observe('fraud', 1, base), 403, 'ROLE_REQUIRED');
  });

  it("shows a production candidate's metrics beside the live version's recent observations", async () => {
    const p = await t.admin.promote('fraud', 2, { target: 'production', reason: 'retrained after drift' });
    const detail = await t.admin.getPromotion(p.id);
    expect(detail.comparison.candidate).toEqual({ version: 2, metrics: { auc: 0.91 } });
    expect(detail.comparison.production).toMatchObject({ version: 1, degraded: false, metrics: { auc: 0.9 } });
    expect(detail.comparison.production!.recent_observations[0]).toMatchObject({ metric: 'psi', value: 0.5 });
    expect(detail.comparison.production!.recent_observations.map((o) => o.metric)).toContain('auc');
  });

  it('prints what is needed to rebuild a version and what is missing', async () => {
    await t.admin.createModel({ name: 'rebuildable' });
    await t.admin.createVersion('rebuildable', {
      source_uri: 's3://m/r', digest: `sha256:${'d'.repeat(64)}`, params: { lr: '0.01' },
      lineage: {
        datasets: [{ name: 'tx', version: '7', role: 'train', digest: `sha256:${'e'.repeat(64)}` }],
        code: { repo: 'git@x:r.git', commit: 'abc' }, environment: { framework: 'sklearn', python: '3.11', libraries: { 'scikit-learn': '1.5.2' } },
      },
    });
    expect(await t.admin.reproduceSpec('rebuildable', 1)).toMatchObject({
      reproducible: true, missing: [], code: { commit: 'abc' }, params: { lr: '0.01' },
      datasets: [{ name: 'tx', version: '7', digest: `sha256:${'e'.repeat(64)}` }], environment: { libraries: { 'scikit-learn': '1.5.2' } },
    });
    const partial = await t.admin.reproduceSpec('fraud', 1);
    expect(partial.reproducible).toBe(false);
    expect(partial.missing).toEqual(['code commit', 'datasets', 'library versions']);
    expect((await t.admin.dossier('rebuildable', 1)).reproduce.reproducible).toBe(true);
  });
});
