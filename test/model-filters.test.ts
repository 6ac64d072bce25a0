/** The models list filters the web UI's models page uses: risk tier and "has a version in stage X", paged on the server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, expectApiError, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

describe.each(DIALECTS)('models list filters ($name)', ({ name: dialect }) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(dialect);
    const tiers = ['low', 'high', 'high', 'critical', 'high', null] as const;
    for (const [i, tier] of tiers.entries()) {
      await t.admin.createModel({ name: `m-${i}`, risk_tier: tier, tags: { team: i % 2 ? 'risk' : 'growth' } });
    }
    for (const model of ['m-1', 'm-4']) {
      await t.admin.createVersion(model, { files: [await uploadFile(t.admin, 'w.bin', model)] });
      await t.ship(model, 1);
    }
    // In staging is not in production.
    await t.admin.createVersion('m-2', { files: [await uploadFile(t.admin, 'w.bin', 'm-2')] });
    await t.admin.promote('m-2', 1, { target: 'staging', reason: 'try' });
  });
  afterAll(async () => { await t?.close(); });

  const names = async (query: Parameters<TestServer['admin']['listModels']>[0]) => (await t.admin.listModels(query)).models.map((m) => m.name);

  it('filters by risk tier and by having a version in a stage, alone and together', async () => {
    expect(await names({ risk_tier: 'high' })).toEqual(['m-1', 'm-2', 'm-4']);
    expect(await names({ stage: 'production' })).toEqual(['m-1', 'm-4']);
    expect(await names({ stage: 'staging' })).toEqual(['m-2']);
    expect(await names({ stage: 'archived' })).toEqual([]);
    expect(await names({ stage: 'production', risk_tier: 'high', tag: ['team=risk'] })).toEqual(['m-1']);
    expect(await names({ risk_tier: 'critical', name_prefix: 'm-3' })).toEqual(['m-3']);
  });

  it('pages a filtered list, and refuses a page token replayed on another filter', async () => {
    const first = await t.admin.listModels({ risk_tier: 'high', page_size: 2 });
    expect(first.models.map((m) => m.name)).toEqual(['m-1', 'm-2']);
    const second = await t.admin.listModels({ risk_tier: 'high', page_size: 2, page_token: first.next_page_token! });
    expect(second.models.map((m) => m.name)).toEqual(['m-4']);
    expect(second.next_page_token).toBeNull();
    await expectApiError(t.admin.listModels({ risk_tier: 'low', page_size: 2, page_token: first.next_page_token! }), 400, 'INVALID_PAGE_TOKEN');
  });

  it('refuses an unknown risk tier or stage with a 400', async () => {
    for (const query of ['risk_tier=extreme', 'stage=prod']) {
      const res = await fetch(`${t.url}/api/v1/models?${query}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
      expect(res.status, query).toBe(400);
      expect((await res.json()).error.code).toBe('VALIDATION_FAILED');
    }
  });
});
