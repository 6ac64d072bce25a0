import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

describe.each(DIALECTS)('concurrent writers on $name', ({ name }) => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(name); });
  afterAll(async () => { await t?.close(); });

  it('gives 50 concurrent creates of one model the numbers 1..50, each once', async () => {
    await t.admin.createModel({ name: 'busy' });
    const file = await uploadFile(t.admin, 'w.bin', 'same bytes');
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) => t.admin.createVersion('busy', { files: [file], metrics: { run: i } })),
    );
    const numbers = created.map((v) => v.version).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const listed = await t.admin.listVersions('busy', { page_size: 100 });
    expect(listed.versions).toHaveLength(50);
    const audit = await t.admin.listAudit({ resource: 'models/busy', action: 'version.created', page_size: 100 });
    expect(audit.entries).toHaveLength(50);
    expect((await t.admin.verifyAudit()).ok).toBe(true);
  });

  it('fails only the creates that break a rule when many arrive at once, keeping the others', async () => {
    // On SQLite concurrent changes share one commit (group commit): a failure after a unit's
    // writes (a dataset digest that contradicts the registered one) must undo that unit alone.
    await t.admin.createModel({ name: 'mixed' });
    const file = await uploadFile(t.admin, 'w.bin', 'mixed bytes');
    const good = `sha256:${'1'.repeat(64)}`;
    const bad = `sha256:${'2'.repeat(64)}`;
    const dataset = (digest: string) => ({ datasets: [{ name: 'mixed-data', version: '1', digest, role: 'train' }] });
    await t.admin.createVersion('mixed', { files: [file], lineage: dataset(good) });
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) =>
      t.admin.createVersion('mixed', { files: [file], metrics: { run: i }, lineage: dataset(i % 3 === 0 ? bad : good) })));
    const created = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code: string }] : []));
    expect(failed).toHaveLength(10);
    for (const err of failed) expect(err.code).toBe('CONFLICT');
    // The failed ones took no number: the 20 that succeeded hold 2..21 and nothing else exists.
    expect(created.map((v) => v.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const listed = await t.admin.listVersions('mixed', { page_size: 100 });
    expect(listed.versions).toHaveLength(21);
    const audit = await t.admin.listAudit({ resource: 'models/mixed', action: 'version.created', page_size: 100 });
    expect(audit.entries).toHaveLength(21);
    expect((await t.admin.verifyAudit()).ok).toBe(true);
  });

  it('keeps numbers increasing and never reused after a delete', async () => {
    await t.admin.createModel({ name: 'reuse' });
    const file = await uploadFile(t.admin, 'w.bin', 'x');
    await t.admin.createVersion('reuse', { files: [file] });
    const second = await t.admin.createVersion('reuse', { files: [file] });
    await t.admin.deleteVersion('reuse', second.version);
    const third = await t.admin.createVersion('reuse', { files: [file] });
    expect(third.version).toBe(3);
  });

  it('applies exactly one of several promotions to production approved at the same moment', async () => {
    await t.admin.createModel({ name: 'race' });
    const file = await uploadFile(t.admin, 'w.bin', 'race');
    for (let i = 0; i < 6; i++) await t.admin.createVersion('race', { files: [file] });
    const requests = await Promise.all(
      Array.from({ length: 6 }, (_, i) => t.admin.promote('race', i + 1, { target: 'production', reason: `candidate ${i + 1}` })),
    );
    expect(requests.every((p) => p.status === 'pending')).toBe(true);
    const approver = await t.as('approver');
    const results = await Promise.allSettled(requests.map((p) => approver.approve(p.id, 'lgtm')));
    const applied = results.filter((r) => r.status === 'fulfilled');
    expect(applied).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('PROMOTION_STALE');
    const production = await t.admin.listVersions('race', { stage: 'production' });
    expect(production.versions).toHaveLength(1);
    const statuses = await Promise.all(requests.map((p) => t.admin.getPromotion(p.id)));
    expect(statuses.filter((p) => p.status === 'applied')).toHaveLength(1);
    expect(statuses.filter((p) => p.status === 'cancelled' && p.decision_comment!.startsWith('stale'))).toHaveLength(5);
    expect((await t.admin.verifyAudit()).ok).toBe(true);
  });

  it('loses no edit when many clients tag one model and one version at once', async () => {
    await t.admin.createModel({ name: 'tagged' });
    const file = await uploadFile(t.admin, 'w.bin', 'tagged');
    await t.admin.createVersion('tagged', { files: [file] });
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.admin.updateModel('tagged', { tags: { [`k${i}`]: String(i) } })));
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.admin.updateVersion('tagged', 1, { tags: { [`k${i}`]: String(i) } })));
    expect(Object.keys((await t.admin.getModel('tagged')).tags)).toHaveLength(20);
    expect(Object.keys((await t.admin.getVersion('tagged', 1)).tags)).toHaveLength(20);
    const edits = await t.admin.listAudit({ resource: 'models/tagged', action: 'model.updated', page_size: 100 });
    expect(edits.entries).toHaveLength(20);
  });

  it('keeps one audit chain under concurrent writes to many models', async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => t.admin.createModel({ name: `parallel-${i}`, tags: { i: String(i) } })));
    const verify = await t.admin.verifyAudit();
    expect(verify).toMatchObject({ ok: true, first_bad_seq: null });
    const exported = await t.admin.exportAudit();
    expect(exported.map((e) => e.seq)).toEqual(Array.from({ length: exported.length }, (_, i) => i + 1));
  });
});
