/**
 * Three real `modelgate serve` processes on one PostgreSQL schema and one blob directory,
 * driven at once: version numbers stay unique and gap-free, one of several racing promotions
 * applies and no instant ever shows two production versions, the audit log stays one chain,
 * and every event reaches a webhook, in order per model, with all three dispatchers running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { POSTGRES_URL, uploadFile } from './helpers/harness.js';
import { createStore, type ServeProcess, type Store } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

describe.runIf(POSTGRES_URL)('three servers, one PostgreSQL', () => {
  let store: Store;
  let servers: ServeProcess[];
  let admins: ModelgateClient[];
  let approvers: ModelgateClient[];
  let receiver: Receiver;
  let hookId: string;
  let firstSeq: number;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    store = await createStore('postgres');
    const flags = ['--allow-webhook-hosts', '127.0.0.1', '--webhook-retry-base-ms', '50', '--rate-limit', '0'];
    // Started together: they race to migrate and to create the first admin.
    servers = await Promise.all([store.serve(flags), store.serve(flags), store.serve(flags)]);
    const token = await store.adminToken();
    admins = servers.map((s) => new ModelgateClient({ url: s.url, token }));
    expect(await admins[0]!.listUsers()).toHaveLength(1);
    await admins[0]!.createUser({ username: 'approver', role: 'approver' });
    const approverToken = (await admins[1]!.createToken({ username: 'approver', name: 'scale' })).token;
    approvers = servers.map((s) => new ModelgateClient({ url: s.url, token: approverToken }));
    firstSeq = (await admins[0]!.listEvents({ after: 0, limit: 1000 })).next_after;
    hookId = (await admins[2]!.createWebhook({ url: receiver.url, events: ['model.*', 'version.*', 'promotion.*', 'alias.*'] })).id;
  }, 90_000);

  afterAll(async () => {
    for (const s of servers ?? []) await s.stop();
    await store?.close();
    await receiver?.stop();
  });

  it('numbers 120 versions created at once through three servers 1..N per model, each once', async () => {
    const models = ['alpha', 'beta', 'gamma'];
    for (const m of models) await admins[0]!.createModel({ name: m });
    const file = await uploadFile(admins[1]!, 'w.bin', 'shared blob directory');
    const created = await Promise.all(Array.from({ length: 120 }, (_, i) => admins[i % 3]!.createVersion(models[i % models.length]!, { files: [file] })));
    for (const m of models) {
      const numbers = created.filter((v) => v.model === m).map((v) => v.version).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
    // Every server serves the bytes any other stored.
    for (const admin of admins) expect((await admin.getVersion('gamma', 40)).files[0]!.digest).toBe(file.digest);
  }, 120_000);

  it('applies exactly one of racing promotions per round, and no instant shows two production versions', async () => {
    await admins[0]!.createModel({ name: 'crown' });
    const file = await uploadFile(admins[0]!, 'c.bin', 'crown');
    let racing = true;
    const violations: string[] = [];
    let polls = 0;
    const poller = (async () => {
      while (racing) {
        const rows = await store.sql<{ n: string }>("select count(*) as n from versions v join models m on m.id = v.model_id where m.name = 'crown' and v.stage = 'production'");
        if (Number(rows[0]!.n) > 1) violations.push(`${rows[0]!.n} production versions at poll ${polls}`);
        const answers = await Promise.all(admins.map((a) => a.resolve('crown', 'production').then((r) => r?.resolved.version ?? null, (e: { status?: number }) => (e.status === 404 ? null : `error ${e.status}`))));
        for (const a of answers) if (typeof a === 'string') violations.push(a);
        polls++;
      }
    })();
    const winners: number[] = [];
    for (let round = 0; round < 5; round++) {
      const versions = await Promise.all(Array.from({ length: 4 }, (_, i) => admins[i % 3]!.createVersion('crown', { files: [file] })));
      const requests = await Promise.all(versions.map((v, i) => admins[i % 3]!.promote('crown', v.version, { target: 'production', reason: `round ${round}` })));
      const results = await Promise.allSettled(requests.map((p, i) => approvers[i % 3]!.approve(p.id, 'lgtm')));
      const applied = results.flatMap((r, i) => (r.status === 'fulfilled' && r.value.status === 'applied' ? [versions[i]!.version] : []));
      expect(applied).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('PROMOTION_STALE');
      winners.push(applied[0]!);
      for (const admin of admins) expect((await admin.resolve('crown', 'production'))!.resolved.version).toBe(applied[0]);
    }
    racing = false;
    await poller;
    expect(violations).toEqual([]);
    expect(polls).toBeGreaterThan(5);
    const history = await admins[1]!.listVersions('crown', { stage: 'archived' });
    expect(history.versions.map((v) => v.version).sort((a, b) => a - b)).toEqual(winners.slice(0, -1).sort((a, b) => a - b));
  }, 120_000);

  it('keeps one audit chain written by all three servers, verified by each', async () => {
    await Promise.all(Array.from({ length: 60 }, (_, i) => admins[i % 3]!.updateModel(['alpha', 'beta', 'gamma'][i % 3]!, { description: `edit ${i}` })));
    for (const admin of admins) {
      const verification = await admin.verifyAudit();
      expect(verification.ok).toBe(true);
    }
    const rows = await store.sql<{ seq: string }>('select seq from audit_log order by seq');
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
  }, 60_000);

  it('delivers every event to the webhook, in order per model, with three dispatchers', async () => {
    const events = [];
    let after = firstSeq;
    for (;;) {
      const page = await admins[0]!.listEvents({ after, limit: 1000 });
      events.push(...page.events);
      if (page.events.length < 1000) break;
      after = page.next_after;
    }
    const wanted = events.filter((e) => /^(model|version|promotion|alias)\./.test(e.type));
    expect(wanted.length).toBeGreaterThan(200);
    await receiver.until(() => new Set(receiver.events().map((e) => e.id)).size >= wanted.length, 60_000);
    const got = receiver.events();
    expect(new Set(got.map((e) => e.id))).toEqual(new Set(wanted.map((e) => e.id)));
    // In order per model: the first delivery of each event comes after the first delivery of every earlier one of its model.
    const first = new Map<string, { sequence: number; subject?: string }>();
    for (const e of got) if (!first.has(e.id)) first.set(e.id, e);
    const bySubject = new Map<string, number[]>();
    for (const e of first.values()) bySubject.set(e.subject ?? '', [...(bySubject.get(e.subject ?? '') ?? []), e.sequence]);
    for (const [subject, sequences] of bySubject) expect(sequences, subject).toEqual([...sequences].sort((a, b) => a - b));
    // The last sends are settled moments after the receiver has them; then nothing is left pending or failed.
    for (let i = 0; i < 100 && (await admins[0]!.listDeliveries(hookId, { status: 'pending' })).deliveries.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await admins[0]!.listDeliveries(hookId, { status: 'pending' })).deliveries).toEqual([]);
    expect((await admins[0]!.listDeliveries(hookId, { status: 'failed' })).deliveries).toEqual([]);
  }, 90_000);
});
