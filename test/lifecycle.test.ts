import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, expectApiError, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

describe.each(DIALECTS)('model and version lifecycle on $name', ({ name }) => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(name); });
  afterAll(async () => { await t?.close(); });

  async function modelWithVersions(model: string, count: number) {
    await t.admin.createModel({ name: model });
    const file = await uploadFile(t.admin, 'model.bin', `bytes of ${model}`);
    for (let i = 0; i < count; i++) await t.admin.createVersion(model, { files: [file], metrics: { auc: 0.8 + i / 100 } });
  }

  it('promotes to production, archiving the previous production version in the same step', async () => {
    await modelWithVersions('churn', 2);
    const first = await t.ship('churn', 1, 'first release');
    expect(first).toMatchObject({ status: 'applied', target: 'production', requested_by: 'admin', version: 1 });
    await t.ship('churn', 2, 'better auc');
    expect((await t.admin.getVersion('churn', 1)).stage).toBe('archived');
    expect((await t.admin.getVersion('churn', 2)).stage).toBe('production');
    const resolved = await t.admin.resolve('churn', 'production');
    expect(resolved!.resolved.version).toBe(2);
    const stageChanges = await t.admin.listAudit({ resource: 'models/churn/versions/1', action: 'version.stage_changed' });
    expect(stageChanges.entries.map((e) => e.changes)).toEqual([
      { stage: { from: 'production', to: 'archived' }, because: 'replaced by version 2' },
      { stage: { from: 'development', to: 'production' }, promotion: first.id },
    ]);
    await expectApiError(t.admin.promote('churn', 2, { target: 'production', reason: 'again' }), 409, 'ALREADY_IN_STAGE');
    const promotions = await t.admin.listPromotions({ model: 'churn' });
    expect(promotions.promotions.map((p) => p.version)).toEqual([2, 1]);
  });

  it('lets contributors stage versions at once but ship to production only once approved', async () => {
    await modelWithVersions('ranker', 2);
    const contributor = await t.as('contributor');
    const staged = await contributor.promote('ranker', 1, { target: 'staging', reason: 'try it' });
    expect(staged.status).toBe('applied');
    expect((await t.admin.getVersion('ranker', 1)).stage).toBe('staging');
    const requested = await contributor.promote('ranker', 1, { target: 'production', reason: 'ship' });
    expect(requested).toMatchObject({ status: 'pending', from_stage: 'staging', policy: { approvals_required: 1, separation_of_duties: true } });
    await expectApiError(t.admin.resolve('ranker', 'production'), 404, 'VERSION_NOT_FOUND');
    const approver = await t.as('approver');
    await approver.approve(requested.id, 'reviewed');
    expect((await t.admin.resolve('ranker', 'production'))!.resolved.version).toBe(1);
  });

  it('sets, moves and deletes aliases, and resolves @alias', async () => {
    await modelWithVersions('search', 2);
    const v1 = await t.admin.setAlias('search', 'champion', 1);
    expect(v1.aliases).toEqual(['champion']);
    await t.admin.setAlias('search', 'champion', 2);
    expect((await t.admin.getVersion('search', 1)).aliases).toEqual([]);
    expect((await t.admin.resolve('search', '@champion'))!.resolved.version).toBe(2);
    await t.admin.deleteAlias('search', 'champion');
    await expectApiError(t.admin.resolve('search', '@champion'), 404, 'ALIAS_NOT_FOUND');
    await expectApiError(t.admin.deleteAlias('search', 'champion'), 404, 'ALIAS_NOT_FOUND');
    await expectApiError(t.admin.setAlias('search', '7up', 1), 400, 'INVALID_NAME');
    const moves = await t.admin.listAudit({ resource: 'models/search/aliases/champion' });
    expect(moves.entries.map((e) => e.action)).toEqual(['alias.deleted', 'alias.set', 'alias.set']);
  });

  it('answers resolve with an ETag and 304 until something changes', async () => {
    await modelWithVersions('etag', 2);
    await t.ship('etag', 1);
    const first = await t.admin.resolve('etag', 'production');
    expect(first!.etag).toMatch(/^".+"$/);
    expect(await t.admin.resolve('etag', 'production', first!.etag)).toBeNull();
    await t.admin.setAlias('etag', 'live', 1);
    const changed = await t.admin.resolve('etag', 'production', first!.etag);
    expect(changed!.resolved.aliases).toEqual(['live']);
    await expectApiError(t.admin.resolve('etag', 'latest'), 400, 'INVALID_REF');
    await expectApiError(t.admin.resolve('etag', 'staging'), 404, 'VERSION_NOT_FOUND');
  });

  it('deletes only versions that never left development', async () => {
    await modelWithVersions('cleanup', 3);
    await t.admin.setAlias('cleanup', 'candidate', 1);
    await t.admin.deleteVersion('cleanup', 1);
    await expectApiError(t.admin.getVersion('cleanup', 1), 404, 'VERSION_NOT_FOUND');
    await expectApiError(t.admin.resolve('cleanup', '@candidate'), 404, 'ALIAS_NOT_FOUND');
    await t.admin.promote('cleanup', 2, { target: 'staging', reason: 'test' });
    await expectApiError(t.admin.deleteVersion('cleanup', 2), 422, 'VERSION_NOT_DELETABLE');
    expect((await t.admin.listVersions('cleanup')).versions.map((v) => v.version)).toEqual([3, 2]);
    const other = await t.as('contributor');
    await expectApiError(other.deleteVersion('cleanup', 3), 403, 'FORBIDDEN');
  });

  it('edits version metadata with an audit entry, and keeps metrics immutable', async () => {
    await modelWithVersions('edits', 1);
    const edited = await t.admin.updateVersion('edits', 1, { description: 'v1', tags: { reviewed: 'yes' }, model_card: '# Card' });
    expect(edited).toMatchObject({ description: 'v1', tags: { reviewed: 'yes' }, model_card: '# Card', metrics: { auc: 0.8 } });
    const untagged = await t.admin.updateVersion('edits', 1, { tags: { reviewed: null } });
    expect(untagged.tags).toEqual({});
    const entries = (await t.admin.listAudit({ resource: 'models/edits/versions/1', action: 'version.updated' })).entries;
    expect(entries).toHaveLength(2);
    expect(entries[1]!.changes).toMatchObject({ model_card: { from: null, to: '# Card' } });
    const response = await fetch(`${t.url}/api/v1/models/edits/versions/1`, {
      method: 'PATCH', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metrics: { auc: 1 } }),
    });
    expect(response.status).toBe(400);
  });

  it('filters and pages versions by stage, tag, metric and creation time', async () => {
    await t.admin.createModel({ name: 'paged' });
    const file = await uploadFile(t.admin, 'w.bin', 'paged');
    for (let i = 1; i <= 7; i++) {
      await t.admin.createVersion('paged', { files: [file], metrics: { auc: i / 10 }, tags: i % 2 ? { parity: 'odd' } : { parity: 'even' } });
    }
    const good = await t.admin.listVersions('paged', { filter: ['metrics.auc >= 0.5'] });
    expect(good.versions.map((v) => v.version)).toEqual([7, 6, 5]);
    const odd = await t.admin.listVersions('paged', { tag: ['parity=odd'], filter: ['metrics.auc < 0.6'] });
    expect(odd.versions.map((v) => v.version)).toEqual([5, 3, 1]);
    const seen: number[] = [];
    let token: string | undefined;
    do {
      const page = await t.admin.listVersions('paged', { page_size: 3, page_token: token, order: 'asc' });
      seen.push(...page.versions.map((v) => v.version));
      token = page.next_page_token ?? undefined;
    } while (token);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const first = await t.admin.listVersions('paged', { page_size: 3 });
    await expectApiError(t.admin.listVersions('paged', { page_size: 3, page_token: first.next_page_token!, stage: 'production' }), 400, 'INVALID_PAGE_TOKEN');
    const future = await t.admin.listVersions('paged', { created_after: new Date(Date.now() + 60_000).toISOString() });
    expect(future.versions).toEqual([]);
  });

  it('gives the same versions for a metric filter that a few versions meet and one that most do, page after page', async () => {
    await t.admin.createModel({ name: 'many' });
    const file = await uploadFile(t.admin, 'w.bin', 'many');
    const made: Array<{ version: number; auc: number; loss: number; odd: boolean }> = [];
    for (let i = 1; i <= 260; i++) {
      const metrics = { auc: (i % 100) / 100, loss: i / 1000 };
      const v = await t.admin.createVersion('many', { files: [file], metrics, tags: { parity: i % 2 ? 'odd' : 'even' } });
      made.push({ version: v.version, ...metrics, odd: i % 2 === 1 });
    }
    // A deleted version is left out whichever way its condition is met.
    const deleted = made.find((m) => m.auc === 0.99)!;
    await t.admin.deleteVersion('many', deleted.version);
    const live = made.filter((m) => m !== deleted);
    const all = async (query: { filter: string[]; tag?: string[]; order?: 'asc' | 'desc' }) => {
      const seen: number[] = [];
      let token: string | undefined;
      do {
        const page = await t.admin.listVersions('many', { ...query, page_size: 25, page_token: token });
        seen.push(...page.versions.map((v) => v.version));
        token = page.next_page_token ?? undefined;
      } while (token);
      return seen;
    };
    const newestFirst = (keep: (m: (typeof made)[number]) => boolean) => live.filter(keep).map((m) => m.version).sort((a, b) => b - a);
    const cases: Array<[string[], string[] | undefined, (m: (typeof made)[number]) => boolean]> = [
      [['metrics.auc >= 0.97'], undefined, (m) => m.auc >= 0.97], // a few
      [['metrics.auc >= 0.1'], undefined, (m) => m.auc >= 0.1], // most
      [['metrics.auc != 0.5'], ['parity=odd'], (m) => m.auc !== 0.5 && m.odd],
      [['metrics.auc >= 0.1', 'metrics.loss < 0.05'], undefined, (m) => m.auc >= 0.1 && m.loss < 0.05],
      [['metrics.auc == 0.42'], undefined, (m) => m.auc === 0.42],
      [['metrics.auc > 1'], undefined, () => false],
    ];
    for (const [filter, tag, keep] of cases) {
      expect(await all({ filter, tag })).toEqual(newestFirst(keep));
      expect(await all({ filter, tag, order: 'asc' })).toEqual(newestFirst(keep).reverse());
    }
  });

  it('lists models by prefix and tag, sorted, across pages', async () => {
    for (const n of ['list-c', 'list-a', 'list-b']) {
      await t.admin.createModel({ name: n, tags: { group: n === 'list-b' ? 'x' : 'y' } });
      await new Promise((r) => setTimeout(r, 5)); // distinct created_at, so the order below is defined
    }
    const page1 = await t.admin.listModels({ name_prefix: 'list-', page_size: 2 });
    expect(page1.models.map((m) => m.name)).toEqual(['list-a', 'list-b']);
    const page2 = await t.admin.listModels({ name_prefix: 'list-', page_size: 2, page_token: page1.next_page_token! });
    expect(page2.models.map((m) => m.name)).toEqual(['list-c']);
    expect(page2.next_page_token).toBeNull();
    const tagged = await t.admin.listModels({ name_prefix: 'list-', tag: ['group=y'], sort: 'name', order: 'desc' });
    expect(tagged.models.map((m) => m.name)).toEqual(['list-c', 'list-a']);
    const newest = await t.admin.listModels({ name_prefix: 'list-', sort: 'created_at' });
    expect(newest.models.map((m) => m.name)).toEqual(['list-b', 'list-a', 'list-c']);
    const caseSensitive = await t.admin.listModels({ name_prefix: 'LIST-' });
    expect(caseSensitive.models).toEqual([]);
  });

  it('renames a model while the old name keeps resolving, and archives it', async () => {
    await modelWithVersions('old-name', 1);
    const renamed = await t.admin.renameModel('old-name', 'new-name');
    expect(renamed).toMatchObject({ name: 'new-name', former_names: ['old-name'] });
    expect((await t.admin.getModel('old-name')).name).toBe('new-name');
    expect((await t.admin.resolve('old-name', '1'))!.resolved.model).toBe('new-name');
    await expectApiError(t.admin.createModel({ name: 'old-name' }), 409, 'MODEL_EXISTS');
    await t.ship('new-name', 1);
    await expectApiError(t.admin.archiveModel('new-name'), 409, 'MODEL_IN_PRODUCTION');
    const retire = await t.admin.promote('new-name', 1, { target: 'archived', reason: 'retire' });
    expect(retire.status).toBe('pending'); // leaving production needs production's approval
    await (await t.as('approver')).approve(retire.id);
    const archived = await t.admin.archiveModel('new-name');
    expect(archived.archived).toBe(true);
    await expectApiError(t.admin.createVersion('new-name', { source_uri: 's3://b/m', digest: `sha256:${'0'.repeat(64)}` }), 409, 'MODEL_ARCHIVED');
    expect((await t.admin.listModels({ name_prefix: 'new-' })).models).toEqual([]);
    expect((await t.admin.listModels({ name_prefix: 'new-', include_archived: true })).models).toHaveLength(1);
    const actions = (await t.admin.listAudit({ resource: 'models/new-name', action: 'model.*' })).entries.map((e) => e.action);
    expect(actions).toEqual(['model.archived', 'model.renamed']);
  });

  it('lets only the owner or an admin edit a model', async () => {
    const owner = await t.as('contributor', 'owner-1');
    await owner.createModel({ name: 'owned', risk_tier: 'high', intended_use: 'fraud triage' });
    const stranger = await t.as('contributor');
    await expectApiError(stranger.updateModel('owned', { description: 'mine now' }), 403, 'FORBIDDEN');
    const updated = await owner.updateModel('owned', { description: 'triage', tags: { tier: 'gold' }, restrictions: 'not for credit decisions' });
    expect(updated).toMatchObject({ owner: 'owner-1', risk_tier: 'high', restrictions: 'not for credit decisions', tags: { tier: 'gold' } });
    await expectApiError(owner.updateModel('owned', { owner: 'nobody-here' }), 404, 'USER_NOT_FOUND');
  });

  it('refuses absurd numbers of metrics, params and tags with a 400, not a 500', async () => {
    await t.admin.createModel({ name: 'bloated' });
    const many = (n: number, value: (i: number) => unknown) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(i)]));
    const source = { source_uri: 's3://b/m', digest: `sha256:${'c'.repeat(64)}` };
    await expectApiError(t.admin.createVersion('bloated', { ...source, metrics: many(20_000, (i) => i) as Record<string, number> }), 400, 'VALIDATION_FAILED');
    await expectApiError(t.admin.createVersion('bloated', { ...source, params: many(1001, String) as Record<string, string> }), 400, 'VALIDATION_FAILED');
    await expectApiError(t.admin.updateModel('bloated', { tags: many(201, String) as Record<string, string> }), 400, 'VALIDATION_FAILED');
    const ok = await t.admin.createVersion('bloated', { ...source, metrics: many(1000, (i) => i) as Record<string, number> });
    expect(Object.keys(ok.metrics)).toHaveLength(1000);
    expect((await t.admin.listVersions('bloated', { filter: ['metrics.k999 >= 999'] })).versions.map((v) => v.version)).toEqual([ok.version]);
  });

  it('registers a version from an external source URI with lineage', async () => {
    await modelWithVersions('parent', 1);
    await t.admin.createModel({ name: 'external' });
    const digest = `sha256:${'ab'.repeat(32)}`;
    const v = await t.admin.createVersion('external', {
      source_uri: 's3://models/external/v1.tar.gz', digest,
      lineage: {
        datasets: [{ name: 'transactions', version: '2026-10', role: 'train', uri: 's3://data/tx' }],
        code: { repo: 'git@example.com:ml/fraud.git', commit: 'abc123' },
        run: { id: 'run-42' },
        parents: [{ model: 'parent', version: 1 }],
      },
      signature: { inputs: [{ name: 'amount', type: 'double' }] },
    });
    expect(v).toMatchObject({ digest, source_uri: 's3://models/external/v1.tar.gz', files: [], signature: { inputs: [{ name: 'amount' }] } });
    expect(v.lineage.parents).toEqual([{ model: 'parent', version: 1, relation: 'fine_tuned_from' }]);
    // The answer to the create is the version as any later read gives it.
    expect(await t.admin.getVersion('external', 1)).toEqual(v);
    const withFiles = await t.admin.createVersion('parent', {
      files: [await uploadFile(t.admin, 'weights.bin', 'w'), await uploadFile(t.admin, 'config.json', '{}')],
      metrics: { auc: 0.91, loss: 0.2 }, params: { lr: '0.1' }, tags: { team: 'risk', owner: 'ana' }, description: 'second', model_card: '# card',
    });
    expect(await t.admin.getVersion('parent', withFiles.version)).toEqual(withFiles);
    // A lone surrogate is stored as the database stores it; the answer says what was stored.
    const odd = await t.admin.createVersion('parent', { source_uri: 's3://m/odd', digest, description: 'a\ud800b', tags: { note: '\udc00' } });
    expect(await t.admin.getVersion('parent', odd.version)).toEqual(odd);
    expect((await t.admin.resolve('external', '1'))!.resolved).toMatchObject({ source_uri: 's3://models/external/v1.tar.gz', files: [] });
  });
});
