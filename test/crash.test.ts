/**
 * kill -9 a real `modelgate serve` while it creates versions (blob upload, then the version),
 * applies promotions and sends a burst of webhooks, all at once, KILLS times at varied moments,
 * on SQLite and PostgreSQL. After each crash the next server (started ahead, so no kill waits
 * for a cold start) must find: the audit chain verifies, one audit entry and one event per
 * change, numbers gap-free, at most one production version, no ready version without its
 * bytes, and everything it acknowledged still there. At the end a fresh start delivers every
 * event to the webhook, in order per model.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelgateClient } from '../src/sdk/client.js';
import { DIALECTS } from './helpers/harness.js';
import { createStore, type ServeProcess, type Store } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

/**
 * Kills per database; every kill lands while version creation, a promotion and webhook
 * deliveries are all under way. Each kill costs a server start (about a second on an idle
 * machine), so the default run keeps to 8; MODELGATE_CRASH_KILLS=20 (or more) for the full proof.
 */
const KILLS = Number(process.env.MODELGATE_CRASH_KILLS ?? 8);
/** A quarter of these milliseconds passes between the work being under way and the kill: never the same twice in a row. */
const MOMENTS = [40, 260, 90, 520, 150, 20, 380, 70, 640, 200, 110, 450, 30, 300, 180, 560, 60, 240, 410, 130];
const MODELS = ['crash-a', 'crash-b', 'crash-c'];

interface Ledger {
  versions: { model: string; version: number; digest: string }[];
  applied: { id: string; model: string; version: number }[];
  edits: number;
}

const stores: Store[] = [];
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const r of receivers) await r.stop();
});

describe('kill -9 in the middle of work', () => {
  it(`${KILLS} crashes per database, each during version creation, a promotion and a webhook burst`, async () => {
    // Both databases at once: the run is bounded by process start-up, not by either database.
    await Promise.all(DIALECTS.map(({ name }) => crashLoop(name)));
  }, 900_000);
});

async function crashLoop(dialect: 'sqlite' | 'postgres'): Promise<void> {
  const receiver = new Receiver();
  await receiver.start();
  receivers.push(receiver);
  const store = await createStore(dialect);
  stores.push(store);
  const flags = ['--allow-webhook-hosts', '127.0.0.1', '--webhook-retry-base-ms', '50', '--webhook-lease-ms', '500', '--rate-limit', '0'];
  let current = await store.serve(flags);
  let standby = store.serve(flags);
  const token = await store.adminToken();
  const setup = new ModelgateClient({ url: current.url, token });
  for (const m of MODELS) await setup.createModel({ name: m });
  await setup.createUser({ username: 'approver', role: 'approver' });
  const approverToken = (await setup.createToken({ username: 'approver', name: 'crash' })).token;
  await setup.createWebhook({ url: receiver.url, events: ['model.*', 'version.*', 'promotion.*'] });
  const ledger: Ledger = { versions: [], applied: [], edits: 0 };
  const file = await setup.uploadBlob(new TextEncoder().encode('seed'));
  for (const m of MODELS) {
    const v = await setup.createVersion(m, { files: [{ path: 'model.bin', digest: file.digest, size: file.size }] });
    ledger.versions.push({ model: m, version: v.version, digest: file.digest });
  }
  const inFlightAtKill = { creates: 0, promotions: 0, deliveries: 0 };
  const tried = new Set<string>();
  const outcomes = new Map<string, number>();

  for (let kill = 0; kill < KILLS; kill++) {
    const admin = new ModelgateClient({ url: current.url, token });
    const approver = new ModelgateClient({ url: current.url, token: approverToken });
    let running = true;
    const busy = { creates: 0, promotions: 0 };
    const creator = async (model: string) => {
      while (running) {
        busy.creates++;
        try {
          const bytes = randomBytes(32 * 1024);
          const blob = await admin.uploadBlob(bytes);
          const v = await admin.createVersion(model, { files: [{ path: 'model.bin', digest: blob.digest, size: blob.size }], metrics: { auc: 0.9 } });
          ledger.versions.push({ model, version: v.version, digest: blob.digest });
        } catch { return; } finally { busy.creates--; }
      }
    };
    const promoter = async () => {
      while (running) {
        const candidate = ledger.versions.filter((v) => !tried.has(`${v.model}/${v.version}`)).at(-1);
        if (!candidate) { await new Promise((r) => setTimeout(r, 5)); continue; }
        tried.add(`${candidate.model}/${candidate.version}`);
        busy.promotions++;
        try {
          const requested = await admin.promote(candidate.model, candidate.version, { target: 'production', reason: `crash ${kill}` });
          const approved = await approver.approve(requested.id, 'ok');
          if (approved.status === 'applied') ledger.applied.push({ id: approved.id, model: candidate.model, version: candidate.version });
        } catch (err) {
          const code = (err as { code?: string }).code ?? (err as Error).name;
          outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
          if (!(err as { status?: number }).status) return; // the server is gone
        } finally { busy.promotions--; }
      }
    };
    const editor = async () => {
      while (running) {
        try { await admin.updateModel(MODELS[ledger.edits % MODELS.length]!, { description: `edit ${ledger.edits}` }); ledger.edits++; } catch { return; }
      }
    };
    const work = Promise.all([...MODELS.map(creator), promoter(), editor()]);
    // The work runs while the next server starts (so a kill never waits for a cold start);
    // then the kill comes at a varied moment once version creation and a promotion are both under way.
    const next = await standby;
    const started = Date.now();
    while ((busy.creates === 0 || busy.promotions === 0) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, MOMENTS[kill % MOMENTS.length]! / 4));
    if (busy.creates > 0) inFlightAtKill.creates++;
    if (busy.promotions > 0) inFlightAtKill.promotions++;
    const pending = await store.sql<{ n: string | number }>("select count(*) as n from deliveries where status = 'pending'");
    if (Number(pending[0]!.n) > 0) inFlightAtKill.deliveries++;
    await current.kill9();
    running = false;
    await work;
    current = next;
    standby = kill < KILLS - 1 ? store.serve(flags) : Promise.resolve(null as unknown as ServeProcess);
    await checkConsistent(store, current, token, ledger, `${dialect} after kill ${kill + 1}`);
  }
  // Each kind of work was under way at (nearly) every kill.
  expect(inFlightAtKill.creates, `${dialect}: kills during version creation`).toBeGreaterThanOrEqual(KILLS - 2);
  expect(inFlightAtKill.promotions, `${dialect}: kills during a promotion (failures: ${JSON.stringify([...outcomes])})`).toBeGreaterThanOrEqual(KILLS / 2);
  expect(inFlightAtKill.deliveries, `${dialect}: kills with webhook deliveries pending`).toBeGreaterThanOrEqual(KILLS / 2);
  expect(ledger.versions.length, `${dialect}: versions acknowledged during the bursts`).toBeGreaterThan(MODELS.length);
  expect(ledger.applied.length, `${dialect}: promotions acknowledged during the bursts (failures: ${JSON.stringify([...outcomes])})`).toBeGreaterThan(0);

  // A cold start after the last crash: every committed event reaches the receiver, in order per model.
  await current.kill9();
  const last = await store.serve(flags);
  // Every event of a model after the webhook was created (the models' own creation came before it).
  const outbox = await store.sql<{ id: string; seq: string | number; subject: string; type: string }>(
    "select id, seq, subject, type from outbox_events where type like 'version.%' or type like 'promotion.%' or type = 'model.updated' order by seq");
  const undelivered = () => { const got = new Set(receiver.events().map((e) => e.id)); return outbox.filter((e) => !got.has(e.id)); };
  await receiver.until(() => undelivered().length === 0, 120_000, `${dialect}: all ${outbox.length} events`).catch(() => {});
  expect(undelivered().map((e) => `${e.seq} ${e.type} ${e.subject}`), `${dialect}: events never delivered`).toEqual([]);
  const firsts = new Map<string, number[]>();
  const seen = new Set<string>();
  for (const e of receiver.events()) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    firsts.set(e.subject ?? '', [...(firsts.get(e.subject ?? '') ?? []), e.sequence]);
  }
  for (const [subject, sequences] of firsts) expect(sequences, `${dialect} ${subject}`).toEqual([...sequences].sort((a, b) => a - b));
  await last.stop();
}

async function checkConsistent(store: Store, server: ServeProcess, token: string, ledger: Ledger, when: string): Promise<void> {
  const admin = new ModelgateClient({ url: server.url, token });
  const verification = await admin.verifyAudit();
  expect(verification.ok, `${when}: audit chain`).toBe(true);
  const [audit] = await store.sql<{ n: string | number }>('select count(*) as n from audit_log');
  const [events] = await store.sql<{ n: string | number }>('select count(*) as n from outbox_events');
  expect(Number(events!.n), `${when}: one event per audit entry`).toBe(Number(audit!.n));
  const all = await store.sql<{ model: string; version: number; status: string; stage: string; last_version: number }>(
    'select m.name as model, v.version, v.status, v.stage, m.last_version from versions v join models m on m.id = v.model_id order by m.name, v.version');
  const created = await store.sql<{ subject: string; n: string | number }>("select subject, count(*) as n from outbox_events where type = 'version.created' group by subject");
  for (const model of MODELS) {
    const rows = all.filter((r) => r.model === model);
    expect(rows.map((r) => Number(r.version)), `${when}: ${model} numbers gap-free`).toEqual(rows.map((_, i) => i + 1));
    if (rows.length > 0) expect(Number(rows[0]!.last_version), `${when}: ${model} last number`).toBe(rows.length);
    expect(rows.filter((r) => r.stage === 'production').length, `${when}: ${model} production versions`).toBeLessThanOrEqual(1);
    expect(Number(created.find((c) => c.subject === model)?.n ?? 0), `${when}: ${model} one version.created event per version`).toBe(rows.length);
  }
  // No ready version lacks its bytes.
  const files = await store.sql<{ digest: string; size: string | number }>(
    "select f.digest, f.size from version_files f join versions v on v.id = f.version_id where v.status = 'ready'");
  for (const f of files) {
    const hex = f.digest.slice('sha256:'.length);
    const info = await stat(join(store.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex)).catch(() => null);
    expect(info?.size, `${when}: bytes of ${f.digest}`).toBe(Number(f.size));
  }
  // Nothing acknowledged was lost.
  const stored = new Map((await store.sql<{ model: string; version: number; status: string; digest: string }>(
    'select m.name as model, v.version, v.status, f.digest from versions v join models m on m.id = v.model_id join version_files f on f.version_id = v.id'))
    .map((r) => [`${r.model}/${r.version}`, r]));
  for (const v of ledger.versions) {
    expect(stored.get(`${v.model}/${v.version}`), `${when}: acknowledged ${v.model} v${v.version}`).toMatchObject({ status: 'ready', digest: v.digest });
  }
  const promotions = new Map((await store.sql<{ id: string; status: string }>('select id, status from promotions')).map((r) => [r.id, r.status]));
  for (const p of ledger.applied) expect(promotions.get(p.id), `${when}: acknowledged promotion ${p.id}`).toBe('applied');
}
