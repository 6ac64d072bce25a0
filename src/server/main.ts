/**
 * `modelgate serve`: reads config once, opens the database and blob store, bootstraps the
 * first admin on an empty registry, and listens. Tests build the same thing with `startServer`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { DEFAULT_DISPATCHER, Dispatcher } from '../core/events/dispatcher.js';
import { Signal } from '../core/events/signal.js';
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

export async function startServer(config: ServeConfig, options: { logger?: boolean | object; db?: OpenOptions; listen?: boolean; dispatch?: boolean } = {}): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true });
  const db = await openDatabase(config.database, options.db);
  const blobs = new FsBlobStore(config.blobs);
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
    limits: { maxBlobBytes: config.maxBlobBytes },
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
  return {
    app, registry, db, url, adminToken, dispatcher,
    close: async () => {
      await dispatcher!.stop();
      await app.close();
      await db.close();
    },
  };
}
