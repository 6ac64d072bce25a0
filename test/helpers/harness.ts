/**
 * The real server on a real database, listening on a loopback port, for integration tests.
 * Every suite runs once per database: SQLite always, PostgreSQL when
 * MODELGATE_TEST_POSTGRES_URL is set (each server in a fresh schema of its own).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type DbHandle } from '../../src/db/connect.js';
import { ModelgateClient, type Promotion, type Role } from '../../src/sdk/client.js';
import { loadServeConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/main.js';

export const POSTGRES_URL = process.env.MODELGATE_TEST_POSTGRES_URL;

export interface Dialect {
  name: 'sqlite' | 'postgres';
}

/** The databases to run each suite against. */
export const DIALECTS: Dialect[] = [{ name: 'sqlite' }, ...(POSTGRES_URL ? [{ name: 'postgres' as const }] : [])];

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  dialect: Dialect['name'];
  adminToken: string;
  admin: ModelgateClient;
  /** Creates a user with the role and returns a client acting as them. */
  as(role: Role, username?: string): Promise<ModelgateClient>;
  /**
   * Puts a version into production the governed way: the admin requests it and a separate
   * approver (created on first use) approves it, as the default policy requires.
   */
  ship(model: string, version: number, reason?: string): Promise<Promotion>;
  /** Starts one more server process on the same database and blob store (closed by close()). */
  another(): Promise<RunningServer>;
  /** Stops the server and starts it again on the same port, database and blobs (a restart). */
  restart(): Promise<void>;
  /** Runs raw SQL on the server's database (for tamper tests). */
  sql(text: string, params?: unknown[]): Promise<unknown[]>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * Runs one statement on a test database over a connection of its own (for tamper tests and
 * checks the API does not offer): `?` placeholders on both databases. SQLite waits for the
 * server's write lock rather than failing busy.
 */
export async function rawSql<T = unknown>(dialect: Dialect['name'], sqliteFile: string, schema: string | undefined, text: string, params: unknown[] = []): Promise<T[]> {
  if (dialect === 'sqlite') {
    const { default: SQLite } = await import('better-sqlite3');
    const db = new SQLite(sqliteFile);
    try {
      db.pragma('busy_timeout = 10000');
      const stmt = db.prepare(text);
      return (stmt.reader ? stmt.all(...params) : (stmt.run(...params), [])) as T[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    let i = 0;
    return (await client.query(text.replace(/\?/g, () => `$${++i}`), params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * A migrated database of its own, without a server: a fresh SQLite file, or a fresh schema in
 * the test PostgreSQL. `close` drops the schema (or the file) and closes the connections.
 */
export async function scratchDatabase(dialect: Dialect['name'], label: string): Promise<{ handle: DbHandle; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `mg-${label}-`));
  const schema = `mg_${label.replace(/-/g, '_')}_${randomBytes(4).toString('hex')}`;
  const handle = await openDatabase(dialect === 'postgres' ? POSTGRES_URL! : join(dir, 'registry.db'), { schema });
  return {
    handle,
    close: async () => {
      if (dialect === 'postgres') await sql.raw(`drop schema ${schema} cascade`).execute(handle.db);
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startTestServer(dialect: Dialect['name'], extra: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'modelgate-test-'));
  const schema = dialect === 'postgres' ? `mg_test_${process.pid}_${randomBytes(4).toString('hex')}` : undefined;
  const config = loadServeConfig({ port: '0', dataDir, rateLimit: '0', authFailureLimit: '0', ...(dialect === 'postgres' ? { database: POSTGRES_URL } : {}), ...extra }, {});
  let server = await startServer(config, { db: { schema } });
  const url = server.url;
  config.port = Number(new URL(url).port);
  const adminToken = server.adminToken!;
  const admin = new ModelgateClient({ url, token: adminToken });
  let approver: ModelgateClient | undefined;
  const others: RunningServer[] = [];
  return {
    get server() { return server; },
    url, dataDir, dialect, adminToken, admin,
    async another() {
      const extraServer = await startServer({ ...config, port: 0 }, { db: { schema } });
      others.push(extraServer);
      return extraServer;
    },
    async restart() {
      await server.close();
      server = await startServer(config, { db: { schema } });
    },
    async as(role, username) {
      const name = username ?? `${role}-${++counter}`;
      await admin.createUser({ username: name, role });
      const { token } = await admin.createToken({ username: name, name: 'test' });
      return new ModelgateClient({ url, token });
    },
    async ship(model, version, reason = 'ship it') {
      approver ??= await this.as('approver', `release-approver-${++counter}`);
      const requested = await admin.promote(model, version, { target: 'production', reason });
      return requested.status === 'applied' ? requested : approver.approve(requested.id, 'reviewed');
    },
    sql: (text, params = []) => rawSql(dialect, config.database, schema, text, params),
    async close() {
      for (const other of others) await other.close();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      if (schema) {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      }
    },
  };
}

/** Uploads bytes and returns a manifest entry for them. */
export async function uploadFile(client: ModelgateClient, path: string, content: string | Uint8Array) {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  const blob = await client.uploadBlob(bytes);
  return { path, digest: blob.digest, size: blob.size };
}

/** A loopback URL nothing listens on: a port the OS handed out and that was closed again. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return `http://127.0.0.1:${port}`;
}

/** Expects a promise to fail with an ApiError of this status and code. */
export async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const e = err as { status?: number; code?: string; message?: string };
    if (e.status === status && e.code === code) return;
    throw new Error(`expected ${status} ${code}, got ${e.status} ${e.code}: ${e.message}`);
  }
  throw new Error(`expected ${status} ${code}, but the call succeeded`);
}
