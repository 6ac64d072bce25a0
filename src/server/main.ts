/**
 * `modelgate serve`: reads config once, opens the database and blob store, bootstraps the
 * first admin on an empty registry, and listens. Tests build the same thing with `startServer`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { DEFAULT_DISPATCHER, Dispatcher } from '../core/events/dispatcher.js';
import { Signal } from '../core/events/signal.js';
import type { BlobStore } from '../core/ports.js';
import { Registry } from '../core/registry.js';
import { openDatabase, type DbHandle, type OpenOptions } from '../db/connect.js';
import { KyselyUnitOfWork } from '../db/unit-of-work.js';
import { HttpWebhookSender } from '../webhooks/http-sender.js';
import { buildApp, type App } from './app.js';
import type { ServeConfig } from './config.js';
import { systemIds } from './ids.js';

export interface RunningServer {
  app: App;
  registry: Registry;
  db: DbHandle;
  url: string;
  /** The bootstrap admin token, when this start created the first admin. */
  adminToken: string | null;
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

/** The server's own actor, for the changes it makes by itself (periodic garbage collection). */
const SYSTEM_CONTEXT = { actor: { userId: 'system', username: 'system', role: 'admin' as const, groups: [] }, requestId: null };

export async function startServer(config: ServeConfig, options: { logger?: boolean | object; db?: OpenOptions; listen?: boolean; dispatch?: boolean } = {}): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true });
  const db = await openDatabase(config.database, options.db);
  // The AWS SDK is loaded only when a bucket is configured: it costs start-up time.
  const blobs: BlobStore = config.s3
    ? new (await import('../blobs/s3-blob-store.js')).S3BlobStore({ ...config.s3, spoolDir: join(config.dataDir, 's3-spool') })
    : new FsBlobStore(config.blobs);
  await blobs.init();
  const uow = new KyselyUnitOfWork(db);
  const clock = { now: () => new Date().toISOString() };
  const sender = new HttpWebhookSender({ allowHosts: config.allowWebhookHosts, timeoutMs: config.webhooks.timeoutMs });
  const signal = new Signal();
  let dispatcher: Dispatcher | null = null;
  const registry = new Registry({
    uow,
    blobs,
    clock,
    ids: systemIds,
    limits: { maxBlobBytes: config.maxBlobBytes, maxStoreBytes: config.maxStoreBytes, uploadTtlMs: config.uploadTtlMs, gcGraceMs: config.gcGraceMs },
    notify: () => {
      dispatcher?.notify();
      signal.fire();
    },
  }, sender);
  const adminToken = await registry.identity.bootstrap();
  if (adminToken) await writeFile(join(config.dataDir, 'admin-token'), adminToken + '\n', { mode: 0o600 });
  const app = await buildApp({
    registry,
    signal,
    logger: options.logger ?? false,
    ready: async () => { await sql`select 1`.execute(db.db); return true; },
    version: process.env.npm_package_version,
    // The same place from src/server (tests), dist/server and dist/bundle (the built CLI).
    webRoot: fileURLToPath(new URL('../../dist/web', import.meta.url)),
    limits: config.limits,
  });
  dispatcher = new Dispatcher(uow, sender, clock, systemIds, {
    ...DEFAULT_DISPATCHER,
    maxAttempts: config.webhooks.maxAttempts,
    retryBaseMs: config.webhooks.retryBaseMs,
    leaseMs: config.webhooks.leaseMs,
  }, (err) => app.log.error({ err }, 'webhook dispatcher'));
  let url = '';
  if (options.listen !== false) {
    url = await app.listen({ port: config.port, host: config.host });
  }
  if (options.dispatch !== false) dispatcher.start();
  const gcTimer = config.gcIntervalMs > 0 ? setInterval(() => {
    registry.blobMaintenance.gc(SYSTEM_CONTEXT)
      .then((report) => { if (report.blobs_removed > 0) app.log.info({ gc: report }, 'garbage collection'); })
      .catch((err) => app.log.error({ err }, 'garbage collection'));
  }, config.gcIntervalMs) : null;
  gcTimer?.unref();
  return {
    app, registry, db, url, adminToken, dispatcher,
    // Graceful: stop accepting connections and let the requests in flight finish while the
    // dispatcher settles the deliveries it is sending; only then close the database.
    close: async () => {
      if (gcTimer) clearInterval(gcTimer);
      await Promise.all([app.close(), dispatcher!.stop()]);
      await db.close();
    },
  };
}
