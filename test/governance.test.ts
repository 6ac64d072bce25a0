import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS, expectApiError, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

describe.each(DIALECTS)('governance on $name', ({ name }) => {
  let t: TestServer;
  let alice: ModelgateClient; // contributor who trains models
  let bob: ModelgateClient; // approver
  let carol: ModelgateClient; // approver
  let victor: ModelgateClient; // viewer

  beforeAll(async () => {
    t = await startTestServer(name);
    alice = await t.as('contributor', 'alice');
    bob = await t.as('approver', 'bob');
    carol = await t.as('approver', 'carol');
    victor = await t.as('viewer', 'victor');
  });
  afterAll(async () => { await t?.close(); });

  /** A model owned by alice with `count` versions she registered. */
  async function model(modelName: string, count: number, extra: Parameters<ModelgateClient['createVersion']>[1] = {}) {
    await alice.createModel({ name: modelName });
    const file = await uploadFile(alice, 'model.bin', `bytes of ${modelName}`);
    for (let i = 0; i < count; i++) await alice.createVersion(modelName, { files: [file], metrics: { auc: 0.85 + i / 100 }, ...extra });
  }

  async function auditActions(resource: string): Promise<string[]> {
    return (await t.admin.listAudit({ resource, page_size: 100 })).entries.map((e) => e.action).reverse();
  }

  it('keeps the default policy: staging at once, production after one independent approval', async () => {
    const policy = await t.admin.getDefaultPolicy();
    expect(policy.targets.staging).toMatchObject({ approvals_required: 0 });
    expect(policy.targets.production).toMatchObject({ approvals_required: 1, approver_roles: ['approver', 'admin'], separation_of_duties: true });
    await model('sod', 1);
    const p = await alice.promote('sod', 1, { target: 'production', reason: 'ready' });
    expect(p).toMatchObject({ status: 'pending', requested_by: 'alice', approvals: [], checks: [] });
    await expectApiError(alice.approve(p.id), 403, 'APPROVER_NOT_ELIGIBLE');
    await expectApiError(victor.approve(p.id), 403, 'APPROVER_NOT_ELIGIBLE');
    const applied = await bob.approve(p.id, 'checked the eval report');
    expect(applied).toMatchObject({ status: 'applied', decided_by: 'bob', approvals: [{ username: 'bob', role: 'approver', comment: 'checked the eval report' }] });
    expect((await t.admin.resolve('sod', 'production'))!.resolved.version).toBe(1);
    expect(await auditActions(`models/sod/promotions/${p.id}`)).toEqual(['promotion.requested', 'promotion.approved', 'promotion.applied']);
  });

  it('forbids the version creator and the requester from approving', async () => {
    await t.admin.createModel({ name: 'self' });
    const file = await uploadFile(bob, 'm.bin', 'bob built this');
    await bob.createVersion('self', { files: [file] });
    const byBob = await bob.promote('self', 1, { target: 'production', reason: 'mine' });
    await expectApiError(bob.approve(byBob.id), 403, 'SELF_APPROVAL_FORBIDDEN');
    await bob.cancelPromotion(byBob.id, 'let carol ask');
    const byCarol = await carol.promote('self', 1, { target: 'production', reason: 'review for bob' });
    await expectApiError(carol.approve(byCarol.id), 403, 'SELF_APPROVAL_FORBIDDEN');
    await expectApiError(bob.approve(byCarol.id), 403, 'SELF_APPROVAL_FORBIDDEN');
    const applied = await t.admin.approve(byCarol.id, 'independent');
    expect(applied.status).toBe('applied');
  });

  it('counts approvals only from the listed roles and groups, and needs two when the policy says two', async () => {
    await model('two-keys', 1);
    await alice.setModelPolicy('two-keys', {
      targets: { production: { approvals_required: 2, approver_roles: ['approver'], approver_groups: ['risk'], separation_of_duties: true } },
    });
    const p = await alice.promote('two-keys', 1, { target: 'production', reason: 'ready' });
    await expectApiError(t.admin.approve(p.id), 403, 'APPROVER_NOT_ELIGIBLE');
    await expectApiError(bob.approve(p.id), 403, 'APPROVER_NOT_ELIGIBLE');
    await t.admin.updateUser('bob', { groups: ['risk'] });
    await t.admin.updateUser('carol', { groups: ['risk', 'ops'] });
    // Group changes reach a user's next request: the clients re-authenticate each time.
    const first = await bob.approve(p.id, 'one');
    expect(first).toMatchObject({ status: 'pending', approvals: [{ username: 'bob' }] });
    await expectApiError(bob.approve(p.id), 409, 'ALREADY_APPROVED');
    expect((await t.admin.getVersion('two-keys', 1)).stage).toBe('development');
    const second = await carol.approve(p.id, 'two');
    expect(second.status).toBe('applied');
    expect((await t.admin.history('two-keys')).history[0]).toMatchObject({ version: 1, via: 'promotion', approved_by: ['bob', 'carol'] });
  });

  it('blocks a request that fails a gate and lists every failing check with what it saw', async () => {
    await model('gated', 1);
    await t.admin.setModelPolicy('gated', {
      targets: { staging: { gates: ['metrics.auc >= 0.9', 'metrics.fairness_gap <= 0.05', 'lineage.datasets', 'lineage.code', 'model_card', 'signature', 'tags.reviewed'] } },
    });
    const before = (await t.admin.listPromotions({ model: 'gated' })).promotions.length;
    let error: { status: number; code: string; details: { failing: { gate: string; observed: unknown }[] } } | undefined;
    try {
      await alice.promote('gated', 1, { target: 'staging', reason: 'try' });
    } catch (err) {
      error = err as typeof error;
    }
    expect(error).toMatchObject({ status: 422, code: 'GATE_FAILED' });
    expect(error!.details.failing).toEqual([
      expect.objectContaining({ gate: 'metrics.auc >= 0.9', observed: 0.85 }),
      expect.objectContaining({ gate: 'metrics.fairness_gap <= 0.05', observed: null }),
      expect.objectContaining({ gate: 'lineage.datasets', observed: [] }),
      expect.objectContaining({ gate: 'lineage.code', observed: null }),
      expect.objectContaining({ gate: 'model_card', observed: null }),
      expect.objectContaining({ gate: 'signature', observed: null }),
      expect.objectContaining({ gate: 'tags.reviewed', observed: null }),
    ]);
    expect((await t.admin.listPromotions({ model: 'gated' })).promotions).toHaveLength(before);
    const file = await uploadFile(alice, 'model.bin', 'bytes of gated');
    const good = await alice.createVersion('gated', {
      files: [file], metrics: { auc: 0.93, fairness_gap: 0.02 }, model_card: '# Gated', signature: { inputs: [] }, tags: { reviewed: 'yes' },
      lineage: { datasets: [{ name: 'tx', version: '1', role: 'train' }], code: { repo: 'git@x:y.git', commit: 'abc' } },
    });
    const p = await alice.promote('gated', good.version, { target: 'staging', reason: 'passes' });
    expect(p.status).toBe('applied');
    expect(p.checks.every((c) => c.passed)).toBe(true);
    expect(p.checks.find((c) => c.gate === 'metrics.auc >= 0.9')).toMatchObject({ observed: 0.93 });
  });

  it('sends a rejected version back to development', async () => {
    await model('rejected', 1);
    await alice.promote('rejected', 1, { target: 'staging', reason: 'stage' });
    const p = await alice.promote('rejected', 1, { target: 'production', reason: 'ship' });
    await expectApiError(bob.reject(p.id, ''), 400, 'VALIDATION_FAILED');
    const rejected = await bob.reject(p.id, 'calibration is off');
    expect(rejected).toMatchObject({ status: 'rejected', decided_by: 'bob', decision_comment: 'calibration is off' });
    expect((await t.admin.getVersion('rejected', 1)).stage).toBe('development');
    await expectApiError(carol.approve(p.id), 409, 'PROMOTION_NOT_PENDING');
    await expectApiError(alice.deleteVersion('rejected', 1), 422, 'VERSION_NOT_DELETABLE');
    expect(await auditActions('models/rejected/versions/1')).toEqual(['version.created', 'version.stage_changed', 'version.stage_changed']);
  });

  it('lets only the requester or an admin cancel, and refuses a second pending request', async () => {
    await model('cancel', 1);
    const p = await alice.promote('cancel', 1, { target: 'production', reason: 'ship' });
    await expectApiError(alice.promote('cancel', 1, { target: 'production', reason: 'again' }), 409, 'PROMOTION_PENDING');
    await expectApiError(bob.cancelPromotion(p.id), 403, 'FORBIDDEN');
    expect((await alice.cancelPromotion(p.id, 'not yet')).status).toBe('cancelled');
  });

  it('marks a promotion stale when its version moved meanwhile', async () => {
    await model('stale', 1);
    const p = await alice.promote('stale', 1, { target: 'production', reason: 'ship' });
    await alice.promote('stale', 1, { target: 'staging', reason: 'stage first after all' });
    await expectApiError(bob.approve(p.id), 409, 'PROMOTION_STALE');
    const after = await t.admin.getPromotion(p.id);
    expect(after.status).toBe('cancelled');
    expect(after.decision_comment).toMatch(/^stale: version 1 moved from development to staging/);
    expect((await t.admin.getVersion('stale', 1)).stage).toBe('staging');
  });

  it('shows each approver the promotions waiting for them', async () => {
    await model('inbox', 2);
    const p1 = await alice.promote('inbox', 1, { target: 'production', reason: 'first' });
    const mine = await bob.listPromotions({ waiting_for: 'me', model: 'inbox' });
    expect(mine.promotions.map((p) => p.id)).toEqual([p1.id]);
    expect((await alice.listPromotions({ waiting_for: 'me', model: 'inbox' })).promotions).toEqual([]);
    await bob.approve(p1.id);
    expect((await bob.listPromotions({ waiting_for: 'me', model: 'inbox' })).promotions).toEqual([]);
    const all = await t.admin.listPromotions({ model: 'inbox', target: 'production', status: 'applied' });
    expect(all.promotions.map((p) => p.id)).toEqual([p1.id]);
  });

  it('moves a protected alias only through an approved promotion', async () => {
    await model('guarded', 2);
    await t.admin.setModelPolicy('guarded', { targets: { '@champion': { approvals_required: 1, approver_roles: ['approver'] } } });
    await expectApiError(alice.setAlias('guarded', 'champion', 1), 403, 'APPROVAL_REQUIRED');
    await alice.setAlias('guarded', 'candidate', 1);
    const p = await alice.promote('guarded', 1, { target: '@champion', reason: 'crown it' });
    expect(p.status).toBe('pending');
    await bob.approve(p.id);
    expect((await t.admin.resolve('guarded', '@champion'))!.resolved.version).toBe(1);
    await expectApiError(alice.deleteAlias('guarded', 'champion'), 403, 'ROLE_REQUIRED');
  });

  it('validates policies, records changes, and lets only owners and admins set them', async () => {
    await model('policy', 1);
    await expectApiError(bob.setModelPolicy('policy', { targets: {} }), 403, 'FORBIDDEN');
    await expectApiError(alice.setModelPolicy('policy', { targets: { prod: {} } }), 400, 'INVALID_POLICY');
    await expectApiError(alice.setModelPolicy('policy', { targets: { production: { gates: ['metrics.auc >> 1'] } } }), 400, 'INVALID_POLICY');
    await expectApiError(alice.setModelPolicy('policy', { targets: { production: { approvals_required: 1, approver_roles: ['viewer'] } } }), 400, 'INVALID_POLICY');
    await expectApiError(alice.setDefaultPolicy({ targets: {} }), 403, 'ROLE_REQUIRED');
    const view = await alice.setModelPolicy('policy', { targets: { staging: { approvals_required: 1 } } });
    expect(view.targets.staging).toMatchObject({ approvals_required: 1 });
    expect(view.targets.production).toMatchObject({ approvals_required: 1, separation_of_duties: true });
    const entries = (await t.admin.listAudit({ resource: 'models/policy/policy' })).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'policy.updated', actor: 'alice' });
    const p = await alice.promote('policy', 1, { target: 'staging', reason: 'needs a look now' });
    expect(p).toMatchObject({ status: 'pending', policy: { approvals_required: 1 } });
  });

  it('rolls production back to the last earlier approved version in one step, and refuses one never approved', async () => {
    await model('incident', 4);
    await t.ship('incident', 1);
    await t.ship('incident', 2);
    await t.ship('incident', 4);
    await expectApiError(alice.rollback('incident', { reason: 'bad' }), 403, 'ROLE_REQUIRED');
    await expectApiError(bob.rollback('incident', { reason: 'try 3', version: 3 }), 422, 'ROLLBACK_NOT_APPROVED');
    const back = await bob.rollback('incident', { reason: 'v4 misroutes EU traffic' });
    expect(back).toEqual({ model: 'incident', target: 'production', from_version: 4, to_version: 2, reason: 'v4 misroutes EU traffic' });
    expect((await t.admin.resolve('incident', 'production'))!.resolved.version).toBe(2);
    expect((await t.admin.getVersion('incident', 4)).stage).toBe('archived');
    const again = await bob.rollback('incident', { reason: 'v2 too' });
    expect(again.to_version).toBe(1);
    await expectApiError(bob.rollback('incident', { reason: 'nothing left' }), 409, 'NOTHING_TO_ROLL_BACK');
    const named = await bob.rollback('incident', { reason: 'forward to 4 after the fix upstream', version: 4 });
    expect(named.to_version).toBe(4);
    const history = (await t.admin.history('incident')).history;
    expect(history.map((h) => [h.version, h.via, h.ended_at === null])).toEqual([
      [4, 'rollback', true], [1, 'rollback', false], [2, 'rollback', false], [4, 'promotion', false], [2, 'promotion', false], [1, 'promotion', false],
    ]);
    expect(history[1]).toMatchObject({ actor: 'bob', reason: 'v2 too', approved_by: [expect.stringMatching(/^release-approver/)] });
    const rollbacks = (await t.admin.listAudit({ action: 'rollback.applied', resource: 'models/incident' })).entries;
    expect(rollbacks.map((e) => (e.changes as { to_version: number }).to_version)).toEqual([4, 1, 2]);
    expect((await t.admin.verifyAudit()).ok).toBe(true);
  });

  it('lets an owner tighten the default policy but never loosen it; an admin override is flagged', async () => {
    await model('loose', 1);
    await expectApiError(alice.setModelPolicy('loose', { targets: { production: { approvals_required: 0 } } }), 403, 'POLICY_WEAKENS_DEFAULT');
    await expectApiError(alice.setModelPolicy('loose', { targets: { production: { approvals_required: 1, separation_of_duties: false } } }), 403, 'POLICY_WEAKENS_DEFAULT');
    await expectApiError(alice.setModelPolicy('loose', { targets: { production: { approvals_required: 1, approver_roles: ['contributor'] } } }), 403, 'POLICY_WEAKENS_DEFAULT');
    const p = await alice.promote('loose', 1, { target: 'production', reason: 'still needs review' });
    expect(p.status).toBe('pending');
    await alice.cancelPromotion(p.id);
    await t.admin.setModelPolicy('loose', { targets: { production: { approvals_required: 0, separation_of_duties: false } } });
    const [entry] = (await t.admin.listAudit({ resource: 'models/loose/policy' })).entries;
    expect((entry!.changes as { admin_override: string[] }).admin_override).toEqual([
      'production: 0 approvals where the default needs 1', 'production: turns separation of duties off',
    ]);
  });

  it('treats taking a version out of production as a production change', async () => {
    await model('pull', 1);
    await t.ship('pull', 1);
    const toStaging = await alice.promote('pull', 1, { target: 'staging', reason: 'pull it' });
    expect(toStaging).toMatchObject({ status: 'pending', policy: { approvals_required: 1 } });
    await alice.cancelPromotion(toStaging.id);
    const toArchive = await alice.promote('pull', 1, { target: 'archived', reason: 'retire it' });
    expect(toArchive.status).toBe('pending');
    expect((await t.admin.resolve('pull', 'production'))!.resolved.version).toBe(1);
    await bob.approve(toArchive.id, 'retire confirmed');
    await expectApiError(t.admin.resolve('pull', 'production'), 404, 'VERSION_NOT_FOUND');
  });

  it('never lets a version that took a protected alias through review be deleted', async () => {
    await model('released', 1);
    await t.admin.setModelPolicy('released', { targets: { '@champion': { approvals_required: 1 } } });
    const p = await alice.promote('released', 1, { target: '@champion', reason: 'crown' });
    await bob.approve(p.id);
    expect((await t.admin.getVersion('released', 1)).stage).toBe('development');
    await expectApiError(alice.deleteVersion('released', 1), 422, 'VERSION_NOT_DELETABLE');
  });

  it('withdraws pending promotions when a model is archived, and approves nothing into it', async () => {
    await model('retired', 1);
    const p = await alice.promote('retired', 1, { target: 'production', reason: 'late request' });
    await alice.archiveModel('retired');
    const after = await t.admin.getPromotion(p.id);
    expect(after).toMatchObject({ status: 'cancelled', decision_comment: 'model archived' });
    await expectApiError(bob.approve(p.id), 409, 'MODEL_ARCHIVED');
    await expectApiError(t.admin.resolve('retired', 'production'), 404, 'VERSION_NOT_FOUND');
  });

  it('rolls a protected alias back too', async () => {
    await model('alias-rb', 3);
    await t.admin.setModelPolicy('alias-rb', { targets: { '@champion': { approvals_required: 0 } } });
    await alice.promote('alias-rb', 1, { target: '@champion', reason: 'first' });
    await alice.promote('alias-rb', 3, { target: '@champion', reason: 'newer' });
    const back = await bob.rollback('alias-rb', { target: '@champion', reason: 'v3 regressed' });
    expect(back).toMatchObject({ from_version: 3, to_version: 1 });
    expect((await t.admin.resolve('alias-rb', '@champion'))!.resolved.version).toBe(1);
  });
});
