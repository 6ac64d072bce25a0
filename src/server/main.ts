/**
 * `modelgate serve`: reads config once, opens the database and blob store, bootstraps the
 * first admin on an empty registry, and listens. Tests build the same thing with `startServer`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { Registry } from '../core/registry.js';
import { openDatabase, type DbHandle, type OpenOptions } from '../db/connect.js';
import { KyselyUnitOfWork } from '../db/unit-of-work.js';
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
  close(): Promise<void>;
}

export async function startServer(config: ServeConfig, options: { logger?: boolean | object; db?: OpenOptions; listen?: boolean } = {}): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true });
  const db = await openDatabase(config.database, options.db);
  const blobs = new FsBlobStore(config.blobs);
  await blobs.init();
  const registry = new Registry({
    uow: new KyselyUnitOfWork(db),
    blobs,
    clock: { now: () => new Date().toISOString() },
    ids: systemIds,
    limits: { maxBlobBytes: config.maxBlobBytes },
  });
  const adminToken = await registry.identity.bootstrap();
  if (adminToken) await writeFile(join(config.dataDir, 'admin-token'), adminToken + '\n', { mode: 0o600 });
  const app = await buildApp({
    registry,
    logger: options.logger ?? false,
    ready: async () => { await sql`select 1`.execute(db.db); return true; },
    version: process.env.npm_package_version,
  });
  let url = '';
  if (options.listen !== false) {
    url = await app.listen({ port: config.port, host: config.host });
  }
  return {
    app, registry, db, url, adminToken,
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}
