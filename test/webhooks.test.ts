import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, expectApiError, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';
import { Receiver } from './helpers/receiver.js';

/** Test servers call loopback receivers and retry fast; production defaults are seconds. */
const FAST = { allowWebhookHosts: '127.0.0.1', webhookRetryBaseMs: '40', webhookLeaseMs: '2000', webhookMaxAttempts: '4' };

describe.each(DIALECTS)('webhooks on $name', ({ name }) => {
  let t: TestServer;
  let receiver: Receiver;

  beforeAll(async () => { t = await startTestServer(name, FAST); });
  afterAll(async () => { await t?.close(); });
  beforeEach(async () => {
    receiver = new Receiver();
    await receiver.start();
  });
  afterEach(async () => { await receiver.stop(); });

  it('delivers signed CloudEvents that a Standard Webhooks library verifies, in order', async () => {
    const hook = await t.admin.createWebhook({ url: receiver.url, events: ['model.*', 'version.*'] });
    expect(hook.secret).toMatch(/^whsec_/);
    await t.admin.createModel({ name: 'signed' });
    const file = await uploadFile(t.admin, 'm.bin', 'signed');
    await t.admin.createVersion('signed', { files: [file] });
    await t.admin.updateModel('signed', { description: 'now described' });
    await receiver.until(() => receiver.received.length === 3);
    const verifier = new StandardWebhook(hook.secret);
    for (const r of receiver.received) {
      expect(() => verifier.verify(r.body, r.headers as Record<string, string>)).not.toThrow();
    }
    const tampered = receiver.received[0]!;
    expect(() => verifier.verify(tampered.body.replace('signed', 'forged'), tampered.headers as Record<string, string>)).toThrow();
    const events = receiver.events();
    expect(events.map((e) => e.type)).toEqual(['model.created', 'version.created', 'model.updated']);
    expect(events[1]).toMatchObject({ specversion: '1.0', source: '/modelgate', subject: 'signed', datacontenttype: 'application/json' });
    expect(events[1]!.data).toMatchObject({ actor: 'admin', version: { model: 'signed', version: 1, stage: 'development' } });
    const seqs = events.map((e) => e.sequence);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(receiver.received[0]!.headers['webhook-id']).toBe(events[0]!.id);
  });

  it('keeps events while the receiver is down and delivers them in order once it is back', async () => {
    // Its own server with room for many attempts, so no delivery runs out of them on a slow machine.
    const patient = await startTestServer(name, { ...FAST, webhookMaxAttempts: '100' });
    try {
      const hook = await patient.admin.createWebhook({ url: receiver.url, events: ['version.created'], model: undefined });
      await patient.admin.createModel({ name: 'outage' });
      const file = await uploadFile(patient.admin, 'm.bin', 'outage');
      await receiver.stop();
      for (let i = 0; i < 5; i++) await patient.admin.createVersion('outage', { files: [file] });
      // Deliveries go in order per model: the first is retried while the other four wait behind it.
      const pending = async () => (await patient.admin.listDeliveries(hook.id, { status: 'pending' })).deliveries;
      let waiting = await pending();
      for (let i = 0; i < 200 && (waiting.length < 5 || !waiting.some((d) => d.attempt_log.some((a) => a.status === null && a.error !== null))); i++) {
        await new Promise((r) => setTimeout(r, 50));
        waiting = await pending();
      }
      expect(waiting.length).toBe(5);
      expect(waiting.some((d) => d.attempt_log.some((a) => a.status === null && a.error !== null))).toBe(true);
      await receiver.start();
      await receiver.until(() => receiver.events().length === 5, 30_000);
      expect(receiver.events().map((e) => (e.data.version as { version: number }).version)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await patient.close();
    }
  });

  it('retries a 500 and honours 429 Retry-After, logging every attempt', async () => {
    const hook = await t.admin.createWebhook({ url: receiver.url, events: ['model.created'] });
    let calls = 0;
    receiver.answer = () => {
      calls += 1;
      if (calls === 1) return { status: 500, body: 'database is down' };
      if (calls === 2) return { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' };
      return { status: 204 };
    };
    const started = Date.now();
    await t.admin.createModel({ name: 'flaky' });
    await receiver.until(() => receiver.received.length === 1);
    expect(receiver.received[0]!.at - started).toBeGreaterThanOrEqual(900);
    // The receiver has the event; the dispatcher records the answer a moment later.
    let [delivery] = (await t.admin.listDeliveries(hook.id)).deliveries;
    for (let i = 0; i < 100 && delivery?.status !== 'delivered'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      [delivery] = (await t.admin.listDeliveries(hook.id)).deliveries;
    }
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, last_status: 204 });
    expect(delivery!.attempt_log.map((a) => [a.status, a.response_excerpt])).toEqual([[500, 'database is down'], [429, 'slow down'], [204, '']]);
    await t.admin.deleteWebhook(hook.id);
  });

  it('marks a delivery failed after the attempt limit, and redelivers it on request', async () => {
    const hook = await t.admin.createWebhook({ url: receiver.url, events: ['model.created'] });
    receiver.answer = () => ({ status: 503 });
    await t.admin.createModel({ name: 'gives-up' });
    let failed = (await t.admin.listDeliveries(hook.id, { status: 'failed' })).deliveries;
    for (let i = 0; i < 100 && failed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      failed = (await t.admin.listDeliveries(hook.id, { status: 'failed' })).deliveries;
    }
    expect(failed[0]).toMatchObject({ attempts: 4, last_status: 503 });
    receiver.answer = () => ({ status: 200 });
    expect(await t.admin.redeliver(hook.id, failed[0]!.id)).toEqual({ requeued: 1 });
    await receiver.until(() => receiver.received.length === 1);
    await expectApiError(t.admin.redeliver(hook.id, failed[0]!.id), 409, 'CONFLICT');
    const test = await t.admin.testWebhook(hook.id);
    await receiver.until(() => receiver.received.length === 2);
    expect(receiver.events()[1]).toMatchObject({ type: 'webhook.test', id: test.event_id });
    await t.admin.deleteWebhook(hook.id);
  });

  it('filters by model, by id, so a rename keeps the subscription', async () => {
    await t.admin.createModel({ name: 'watched' });
    await t.admin.createModel({ name: 'ignored' });
    const hook = await t.admin.createWebhook({ url: receiver.url, events: ['*'], model: 'watched' });
    await t.admin.updateModel('ignored', { description: 'x' });
    await t.admin.renameModel('watched', 'watched-2');
    await t.admin.updateModel('watched-2', { description: 'y' });
    await receiver.until(() => receiver.received.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    // The subscription's own creation is the first thing it hears about.
    expect(receiver.events().map((e) => [e.type, e.subject])).toEqual([
      ['webhook.created', 'watched'], ['model.renamed', 'watched-2'], ['model.updated', 'watched-2'],
    ]);
    await t.admin.deleteWebhook(hook.id);
  });

  it('never returns or logs a secret, and lets only admins and owners subscribe', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const hook = await t.admin.createWebhook({ url: receiver.url, events: ['promotion.*'], secret });
    expect(hook.secret).toBe(secret);
    expect(JSON.stringify(await t.admin.getWebhook(hook.id))).not.toContain('whsec_');
    expect(JSON.stringify(await t.admin.listWebhooks())).not.toContain('whsec_');
    expect(JSON.stringify(await t.admin.exportAudit())).not.toContain(secret.slice(6, 20));
    const contributor = await t.as('contributor');
    await expectApiError(contributor.createWebhook({ url: receiver.url, events: ['*'] }), 403, 'FORBIDDEN');
    await contributor.createModel({ name: 'mine-to-watch' });
    // Internal hosts, even allow-listed ones, are for admins: the delivery log shows their replies.
    await expectApiError(contributor.createWebhook({ url: receiver.url, events: ['*'], model: 'mine-to-watch' }), 403, 'FORBIDDEN');
    // A public address literal needs no DNS; created paused, so nothing is ever sent to it.
    const own = await contributor.createWebhook({ url: 'https://93.184.216.34/hooks/abc?token=s3cr3t', events: ['*'], model: 'mine-to-watch', active: false });
    expect(own.model).toBe('mine-to-watch');
    const logged = JSON.stringify(await t.admin.listAudit({ action: 'webhook.created' }));
    expect(logged).not.toContain('s3cr3t');
    expect(logged).toContain('https://93.184.216.34');
    await expectApiError(contributor.getWebhook(hook.id), 404, 'NOT_FOUND');
    await expectApiError(t.admin.createWebhook({ url: receiver.url, events: ['promotion'] }), 400, 'VALIDATION_FAILED');
    await expectApiError(t.admin.createWebhook({ url: receiver.url, events: ['*'], secret: 'hunter2' }), 400, 'VALIDATION_FAILED');
    for (const url of ['ftp://127.0.0.1/x', 'http://10.0.0.8/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:9/x', 'not a url']) {
      await expectApiError(t.admin.createWebhook({ url, events: ['*'] }), 400, 'VALIDATION_FAILED');
    }
    await t.admin.deleteWebhook(hook.id);
    await t.admin.deleteWebhook(own.id);
  });

  it('delivers everything committed before a restart, in order, after it', async () => {
    const hook = await t.admin.createWebhook({ url: receiver.url, events: ['version.created'] });
    await t.admin.createModel({ name: 'restart' });
    const file = await uploadFile(t.admin, 'm.bin', 'restart');
    await receiver.stop();
    for (let i = 0; i < 4; i++) await t.admin.createVersion('restart', { files: [file] });
    await t.restart();
    await receiver.start();
    await receiver.until(() => receiver.events().length === 4, 20_000);
    expect(receiver.events().map((e) => (e.data.version as { version: number }).version)).toEqual([1, 2, 3, 4]);
    await t.admin.deleteWebhook(hook.id);
  });

  it.runIf(name === 'postgres')('delivers each event once, in order per model, with three dispatchers on one database', async () => {
    await t.another();
    await t.another();
    const hook = await t.admin.createWebhook({ url: receiver.url, events: ['version.created'] });
    const models = ['multi-a', 'multi-b', 'multi-c'];
    for (const m of models) await t.admin.createModel({ name: m });
    const file = await uploadFile(t.admin, 'm.bin', 'multi');
    await Promise.all(models.map(async (m) => {
      for (let i = 0; i < 10; i++) await t.admin.createVersion(m, { files: [file] });
    }));
    await receiver.until(() => receiver.events().length >= 30, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const events = receiver.events();
    expect(events).toHaveLength(30);
    expect(new Set(events.map((e) => e.id)).size).toBe(30);
    for (const m of models) {
      const versions = events.filter((e) => e.subject === m).map((e) => (e.data.version as { version: number }).version);
      expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    await t.admin.deleteWebhook(hook.id);
  });

  it('streams events over SSE and resumes from Last-Event-ID', async () => {
    const start = (await t.admin.listEvents({ after: 0, limit: 1000 })).next_after;
    const controller = new AbortController();
    const seen: { type: string; sequence: number }[] = [];
    const reading = (async () => {
      for await (const event of t.admin.streamEvents({ after: start, signal: controller.signal })) {
        seen.push(event);
        if (seen.length === 3) controller.abort();
      }
    })();
    await t.admin.createModel({ name: 'streamed' });
    await t.admin.updateModel('streamed', { description: 'a' });
    await t.admin.updateModel('streamed', { description: 'b' });
    await reading;
    expect(seen.map((e) => e.type)).toEqual(['model.created', 'model.updated', 'model.updated']);
    const resumed = await t.admin.listEvents({ after: seen[0]!.sequence });
    expect(resumed.events.slice(0, 2).map((e) => e.sequence)).toEqual([seen[1]!.sequence, seen[2]!.sequence]);
    const again: number[] = [];
    const controller2 = new AbortController();
    for await (const event of t.admin.streamEvents({ after: seen[0]!.sequence, signal: controller2.signal })) {
      again.push(event.sequence);
      if (again.length === 2) controller2.abort();
    }
    expect(again).toEqual([seen[1]!.sequence, seen[2]!.sequence]);
  });
});
