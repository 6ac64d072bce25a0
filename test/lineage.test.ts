import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, expectApiError, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

const D = (name: string, version: string, role = 'train') => ({ name, version, role });

describe.each(DIALECTS)('lineage, impact, inventory and dossier on $name', ({ name }) => {
  let t: TestServer;

  /**
   * A base encoder retrained on three monthly transaction extracts (September's turns out
   * biased), fine-tuned twice into regional fraud models, and a churn model that validated on
   * the biased extract directly.
   */
  beforeAll(async () => {
    t = await startTestServer(name);
    await t.admin.createDataset({ name: 'transactions', version: '2026-09', uri: 's3://lake/tx/2026-09', digest: `sha256:${'9'.repeat(64)}`, size: 1_000_000 });
    const file = await uploadFile(t.admin, 'w.bin', 'weights');
    for (const model of ['base-encoder', 'fraud-eu', 'fraud-us', 'churn']) await t.admin.createModel({ name: model });
    const code = { repo: 'git@example.com:ml/encoder.git', commit: 'a1b2c3d' };
    await t.admin.createVersion('base-encoder', { files: [file], lineage: { datasets: [D('transactions', '2026-08')], code } });
    await t.admin.createVersion('base-encoder', {
      files: [file], lineage: { datasets: [D('transactions', '2026-09'), D('labels', 'v1', 'validation')], code: { ...code, commit: 'e4f5a6b' }, run: { id: 'run-7', experiment: 'encoder' } },
    });
    await t.admin.createVersion('fraud-eu', {
      files: [file], lineage: { datasets: [D('transactions', '2026-10')], parents: [{ model: 'base-encoder', version: 2 }], environment: { framework: 'torch', libraries: { torch: '2.5.1' } } },
    });
    await t.admin.createVersion('fraud-us', { files: [file], lineage: { parents: [{ model: 'base-encoder', version: 1 }] } });
    await t.admin.createVersion('fraud-us', { files: [file], lineage: { parents: [{ model: 'fraud-eu', version: 1, relation: 'distilled_from' }] } });
    await t.admin.createVersion('churn', { files: [file], lineage: { datasets: [D('transactions', '2026-09', 'validation')] } });
    await t.ship('base-encoder', 2);
    await t.ship('fraud-eu', 1, 'EU launch');
    await t.admin.promote('churn', 1, { target: 'staging', reason: 'try' });
    await t.admin.setAlias('fraud-us', 'candidate', 2);
  });
  afterAll(async () => { await t?.close(); });

  it('registers datasets named by versions, once each, and audits it', async () => {
    expect((await t.admin.datasetVersions('transactions')).map((d) => d.version).sort()).toEqual(['2026-08', '2026-09', '2026-10']);
    expect(await t.admin.getDataset('transactions', '2026-09')).toMatchObject({ uri: 's3://lake/tx/2026-09', size: 1_000_000 });
    const created = (await t.admin.listAudit({ action: 'dataset.created', page_size: 100 })).entries;
    expect(created).toHaveLength(4); // one registered by hand, three named by versions
    await expectApiError(t.admin.createDataset({ name: 'transactions', version: '2026-09' }), 409, 'CONFLICT');
    await expectApiError(t.admin.createVersion('churn', { source_uri: 's3://x', digest: `sha256:${'0'.repeat(64)}`, lineage: { datasets: [{ ...D('transactions', '2026-09'), digest: `sha256:${'1'.repeat(64)}` }] } }), 409, 'CONFLICT');
    await expectApiError(t.admin.createDataset({ name: 'bad name', version: '1' }), 400, 'INVALID_NAME');
  });

  it('answers which versions used the biased extract, production first, including those fine-tuned from them', async () => {
    const impact = await t.admin.impact({ dataset: 'transactions@2026-09' });
    expect(impact.affected).toEqual([
      { model: 'base-encoder', version: 2, stage: 'production', aliases: [], direct: true },
      { model: 'fraud-eu', version: 1, stage: 'production', aliases: [], direct: false },
      { model: 'churn', version: 1, stage: 'staging', aliases: [], direct: true },
      { model: 'fraud-us', version: 2, stage: 'development', aliases: ['candidate'], direct: false },
    ]);
    expect(impact.in_production).toBe(2);
    // The reply is written as bytes (impact-reply.ts): its datasets as GET shows them, and
    // the headers and length any JSON reply has, on GET and HEAD.
    expect(impact.datasets).toEqual([await t.admin.getDataset('transactions', '2026-09')]);
    const url = `${t.url}/api/v1/impact?dataset=${encodeURIComponent('transactions@2026-09')}`;
    const headers = { authorization: `Bearer ${t.adminToken}` };
    const got = await fetch(url, { headers });
    const bytes = Buffer.from(await got.arrayBuffer());
    expect(got.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(got.headers.get('content-length'))).toBe(bytes.length);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(impact);
    const head = await fetch(url, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(bytes.length);
    const allMonths = await t.admin.impact({ dataset: 'transactions' });
    expect(allMonths.affected.map((a) => `${a.model}@${a.version}`).sort()).toEqual(['base-encoder@1', 'base-encoder@2', 'churn@1', 'fraud-eu@1', 'fraud-us@1', 'fraud-us@2']);
    // Production first, then staging, development, archived; by model name; newest version first.
    const stageOrder = ['production', 'staging', 'development', 'archived'];
    const expected = [...allMonths.affected].sort((a, b) => stageOrder.indexOf(a.stage) - stageOrder.indexOf(b.stage) || a.model.localeCompare(b.model) || b.version - a.version);
    expect(allMonths.affected).toEqual(expected);
    expect((await t.admin.impact({ commit: 'e4f5a6b' })).affected.map((a) => `${a.model}@${a.version}`)).toEqual(['base-encoder@2', 'fraud-eu@1', 'fraud-us@2']);
    expect((await t.admin.impact({ parent: 'base-encoder@1' })).affected.map((a) => `${a.model}@${a.version}`)).toEqual(['fraud-us@1']);
    await expectApiError(t.admin.impact({ dataset: 'nope' }), 404, 'NOT_FOUND');
    await expectApiError(t.admin.impact({}), 400, 'VALIDATION_FAILED');
    await expectApiError(t.admin.impact({ dataset: 'transactions', commit: 'x' }), 400, 'VALIDATION_FAILED');
  });

  it('draws the upstream graph of a version to a given depth', async () => {
    const shallow = await t.admin.lineage('fraud-us', 2, 1);
    expect(shallow.root).toBe('version:fraud-us/2');
    expect(shallow.edges).toContainEqual({ from: 'version:fraud-us/2', to: 'version:fraud-eu/1', kind: 'distilled_from' });
    expect(shallow.edges).toContainEqual({ from: 'version:fraud-eu/1', to: 'dataset:transactions@2026-10', kind: 'trained_on' });
    expect(shallow.nodes.some((n) => n.id === 'version:base-encoder/2')).toBe(false);
    const deep = await t.admin.lineage('fraud-us', 2, 5);
    expect(deep.edges).toEqual(expect.arrayContaining([
      { from: 'version:fraud-eu/1', to: 'version:base-encoder/2', kind: 'fine_tuned_from' },
      { from: 'version:base-encoder/2', to: 'dataset:transactions@2026-09', kind: 'trained_on' },
      { from: 'version:base-encoder/2', to: 'dataset:labels@v1', kind: 'validated_on' },
      { from: 'version:base-encoder/2', to: 'code:git@example.com:ml/encoder.git@e4f5a6b', kind: 'built_from' },
      { from: 'version:base-encoder/2', to: 'run:run-7', kind: 'produced_by' },
    ]));
    expect(deep.nodes.find((n) => n.id === 'version:fraud-eu/1')).toMatchObject({ stage: 'production', environment: { framework: 'torch' } });
  });

  it('draws a version reached by two paths once, at its nearest generation, and stops at the depth asked', async () => {
    // v1 <- v2 <- v3 -> v1 (an ensemble of both), v4 <- v3: v1 is two generations above v4 and three.
    const file = await uploadFile(t.admin, 'w.bin', 'weights');
    await t.admin.createModel({ name: 'ensemble' });
    await t.admin.createVersion('ensemble', { files: [file], lineage: { datasets: [D('transactions', '2026-08')] } });
    await t.admin.createVersion('ensemble', { files: [file], lineage: { parents: [{ model: 'ensemble', version: 1 }] } });
    await t.admin.createVersion('ensemble', { files: [file], lineage: { parents: [{ model: 'ensemble', version: 2 }, { model: 'ensemble', version: 1, relation: 'derived_from' }] } });
    await t.admin.createVersion('ensemble', { files: [file], lineage: { parents: [{ model: 'ensemble', version: 3 }] } });
    const at = async (depth: number) => {
      const graph = await t.admin.lineage('ensemble', 4, depth);
      return {
        nodes: graph.nodes.map((n) => n.id),
        edges: graph.edges.map((e) => `${e.from.replace('version:ensemble/', 'v')} -${e.kind}-> ${e.to.replace('version:ensemble/', 'v')}`).sort(),
      };
    };
    expect(await at(0)).toEqual({ nodes: ['version:ensemble/4'], edges: [] });
    expect(await at(1)).toEqual({ nodes: ['version:ensemble/4', 'version:ensemble/3'], edges: ['v4 -fine_tuned_from-> v3'] });
    const two = await at(2);
    expect(two.nodes.slice(0, 2)).toEqual(['version:ensemble/4', 'version:ensemble/3']);
    expect(two.nodes.slice(2).sort()).toEqual(['dataset:transactions@2026-08', 'version:ensemble/1', 'version:ensemble/2']);
    // v2 is at the depth asked: its own parent edge is not drawn; v1's dataset is.
    expect(two.edges).toEqual(['v1 -trained_on-> dataset:transactions@2026-08', 'v3 -derived_from-> v1', 'v3 -fine_tuned_from-> v2', 'v4 -fine_tuned_from-> v3']);
    const all = await at(50);
    expect(all.nodes).toHaveLength(5);
    expect(all.edges).toEqual([...two.edges.slice(0, 1), 'v2 -fine_tuned_from-> v1', ...two.edges.slice(1)]);
  });

  it('keeps an inventory with validation dates, filterable and exportable as CSV', async () => {
    await t.admin.updateModel('fraud-eu', {
      risk_tier: 'high', responsible: ['Dana Risk (model validator)'], validation_status: 'validated',
      last_validated_at: '2025-01-10', next_validation_due: '2026-01-10', validity_period: 'P1Y',
      policy_exceptions: [{ description: 'fairness review waived for the pilot, "EU only"', granted_by: 'cro', expires: '2026-12-31' }],
      intended_use: 'card fraud triage', restrictions: 'not for credit decisions',
    });
    await t.admin.updateModel('churn', { risk_tier: 'low', next_validation_due: '2099-01-01' });
    await expectApiError(t.admin.updateModel('churn', { next_validation_due: 'soon' }), 400, 'VALIDATION_FAILED');
    await expectApiError(t.admin.updateModel('churn', { validity_period: 'a year' }), 400, 'VALIDATION_FAILED');
    const high = await t.admin.inventory({ risk_tier: 'high' });
    expect(high.models).toEqual([expect.objectContaining({
      model: 'fraud-eu', owner: 'admin', validation_overdue: true, production_version: 1, validity_period: 'P1Y', responsible: ['Dana Risk (model validator)'],
    })]);
    expect((await t.admin.inventory({ overdue: true })).models.map((m) => m.model)).toEqual(['fraud-eu']);
    expect((await t.admin.inventory({ in_production: true })).models.map((m) => m.model)).toEqual(['base-encoder', 'fraud-eu']);
    const csv = await t.admin.inventoryCsv({ in_production: true });
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('model,owner,responsible,risk_tier,intended_use,restrictions,validation_status,last_validated_at,next_validation_due,validation_overdue,validity_period,policy_exceptions,production_version,production_since,archived');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('fraud-eu,admin,Dana Risk (model validator),high,card fraud triage,not for credit decisions,validated,2025-01-10,2026-01-10,true,P1Y,"fairness review waived for the pilot, ""EU only""",1,');
  });

  it('assembles the evidence dossier with every approval, the history and a verified chain', async () => {
    await t.admin.updateVersion('fraud-eu', 1, { model_card: '# Fraud EU\n<script>alert(1)</script>' });
    const dossier = await t.admin.dossier('fraud-eu', 1);
    expect(dossier.version).toMatchObject({ model: 'fraud-eu', version: 1, stage: 'production' });
    expect(dossier.model).toMatchObject({ risk_tier: 'high', validation_status: 'validated' });
    expect(dossier.promotions).toHaveLength(1);
    expect(dossier.promotions[0]).toMatchObject({ status: 'applied', reason: 'EU launch', approvals: [{ role: 'approver', comment: 'reviewed' }] });
    expect(dossier.history).toEqual([expect.objectContaining({ target: 'production', version: 1, via: 'promotion', ended_at: null })]);
    expect(dossier.lineage.edges).toContainEqual({ from: 'version:base-encoder/2', to: 'dataset:transactions@2026-09', kind: 'trained_on' });
    expect(dossier.audit.chain).toMatchObject({ ok: true, first_bad_seq: null });
    expect(dossier.audit.entries.map((e) => e.action)).toEqual([
      'version.created', 'promotion.requested', 'promotion.approved', 'version.stage_changed', 'promotion.applied', 'version.updated',
    ]);
    const markdown = await t.admin.dossierText('fraud-eu', 1, 'markdown');
    expect(markdown).toMatch(/^# Evidence dossier: fraud-eu version 1$/m);
    expect(markdown).toContain('Chain verification: verified');
    const html = await t.admin.dossierText('fraud-eu', 1, 'html');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
  });
});

describe.each(DIALECTS)('impact through the lineage closure on $name', ({ name }) => {
  let t: TestServer;
  afterAll(async () => { await t?.close(); });

  const affected = async (query: { dataset?: string; commit?: string; parent?: string }) =>
    (await t.admin.impact(query)).affected.map((a) => `${a.model}@${a.version} ${a.stage}${a.direct ? ' direct' : ''}`);

  it('follows parents to any depth, leaves deleted versions out, and survives an upgrade from a registry without it', async () => {
    t = await startTestServer(name);
    const file = await uploadFile(t.admin, 'w.bin', 'weights');
    for (const model of ['pretrain', 'tune', 'distil', 'other']) await t.admin.createModel({ name: model });
    // pretrain@1 on clicks@v1 at commit c1; tune@1..3 a chain below it, tune@2 also on clicks@v2;
    // distil@1 from tune@3 (four generations down); other@1 on clicks@v2 only, then deleted;
    // other@2 on clicks@v1 and archived.
    await t.admin.createVersion('pretrain', { files: [file], lineage: { datasets: [D('clicks', 'v1')], code: { repo: 'r', commit: 'c1' } } });
    await t.admin.createVersion('tune', { files: [file], lineage: { parents: [{ model: 'pretrain', version: 1 }] } });
    await t.admin.createVersion('tune', { files: [file], lineage: { datasets: [D('clicks', 'v2')], parents: [{ model: 'tune', version: 1 }], code: { repo: 'r', commit: 'c2' } } });
    await t.admin.createVersion('tune', { files: [file], lineage: { parents: [{ model: 'tune', version: 2 }] } });
    await t.admin.createVersion('distil', { files: [file], lineage: { parents: [{ model: 'tune', version: 3 }], datasets: [D('clicks', 'v1', 'evaluation')] } });
    await t.admin.createVersion('other', { files: [file], lineage: { datasets: [D('clicks', 'v2')] } });
    await t.admin.createVersion('other', { files: [file], lineage: { datasets: [D('clicks', 'v1')] } });
    await t.admin.deleteVersion('other', 1);
    await t.admin.promote('other', 2, { target: 'archived', reason: 'superseded' });
    await t.ship('tune', 3);

    const answers = async () => ({
      v1: await affected({ dataset: 'clicks@v1' }),
      all: await affected({ dataset: 'clicks' }),
      c1: await affected({ commit: 'c1' }),
      c2: await affected({ commit: 'c2' }),
      parent: await affected({ parent: 'tune@1' }),
    });
    const before = await answers();
    expect(before.v1).toEqual(['tune@3 production', 'distil@1 development direct', 'pretrain@1 development direct', 'tune@2 development', 'tune@1 development', 'other@2 archived direct']);
    // Every version of clicks: direct wherever the version names any of them itself.
    expect(before.all).toEqual(['tune@3 production', 'distil@1 development direct', 'pretrain@1 development direct', 'tune@2 development direct', 'tune@1 development', 'other@2 archived direct']);
    expect(before.c1).toEqual(['tune@3 production', 'distil@1 development', 'pretrain@1 development direct', 'tune@2 development', 'tune@1 development']);
    expect(before.c2).toEqual(['tune@3 production', 'distil@1 development', 'tune@2 development direct']);
    expect(before.parent).toEqual(['tune@3 production', 'distil@1 development', 'tune@2 development direct']);

    // Edges written by a server that knows nothing of the closure (one not yet upgraded, in a
    // rolling upgrade) reach it all the same: the database keeps it.
    const plain = await t.admin.createVersion('other', { files: [file] });
    const [clicks] = await t.sql("SELECT id FROM datasets WHERE name = 'clicks' AND version = 'v1'") as { id: string }[];
    const [row] = await t.sql("SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'other' AND v.version = ?", [plain.version]) as { id: string }[];
    await t.sql("INSERT INTO version_datasets (version_id, dataset_id, role) VALUES (?, ?, 'train')", [row!.id, clicks!.id]);
    const now = await answers();
    expect(now.v1).toEqual(['tune@3 production', 'distil@1 development direct', 'other@3 development direct', 'pretrain@1 development direct', 'tune@2 development', 'tune@1 development', 'other@2 archived direct']);

    // A registry from before the closure existed: the upgrade fills it from the edges.
    for (const trigger of ['lineage_sources_from_dataset', 'lineage_sources_from_code', 'lineage_sources_from_parent']) {
      await t.sql(name === 'sqlite' ? `DROP TRIGGER ${trigger}` : `DROP FUNCTION ${trigger}() CASCADE`);
    }
    await t.sql('DROP INDEX versions_deleted');
    await t.sql('DROP INDEX versions_released');
    await t.sql('DROP TABLE lineage_sources');
    // ... and from before the migrations after it.
    await t.sql('ALTER TABLE upload_sessions DROP COLUMN completing_at');
    await t.sql('ALTER TABLE upload_parts DROP COLUMN crc32');
    await t.sql('DELETE FROM kysely_migration WHERE name >= ?', ['2026-11-27-08-lineage-sources']);
    await t.restart();
    expect(await answers()).toEqual(now);
  });
});
