/**
 * Real `modelgate serve` processes (bin/modelgate.js) for tests that need what only a process
 * has: signals, kill -9, several servers on one database. Each store (a SQLite directory or a
 * PostgreSQL schema, plus one blob directory) can be served by any number of processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { POSTGRES_URL, rawSql, type Dialect } from './harness.js';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'modelgate.js');

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<number | string | null>;
  kill9(): Promise<void>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | string | null>;
}

/** One database and blob directory that processes can be started on, one after another or side by side. */
export interface Store {
  dialect: Dialect['name'];
  dataDir: string;
  /** The --database argument: a SQLite path, or a postgres URL pinned to this store's schema. */
  database: string;
  adminToken(): Promise<string>;
  serve(extra?: string[], env?: Record<string, string>): Promise<ServeProcess>;
  /** Runs SQL on the store's database (`?` placeholders). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Kills any process still running and removes the directory and schema. */
  close(): Promise<void>;
}

export async function createStore(dialect: Dialect['name']): Promise<Store> {
  const dataDir = await mkdtemp(join(tmpdir(), 'modelgate-proc-'));
  const schema = `mg_proc_${process.pid}_${randomBytes(4).toString('hex')}`;
  let database = join(dataDir, 'modelgate.db');
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    database = `${POSTGRES_URL}${POSTGRES_URL!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  }
  const running = new Set<ServeProcess>();
  return {
    dialect, dataDir, database,
    async adminToken() {
      return (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    },
    async serve(extra = [], env = {}) {
      const proc = await spawnServe(['--port', '0', '--data-dir', dataDir, '--database', database, ...extra], env);
      running.add(proc);
      void proc.exited.then(() => running.delete(proc));
      return proc;
    },
    sql: <T>(text: string, params: unknown[] = []) => rawSql<T>(dialect, database, schema, text, params),
    async close() {
      for (const proc of running) await proc.kill9();
      await rm(dataDir, { recursive: true, force: true });
      if (dialect === 'postgres') {
        const admin = new pg.Client({ connectionString: POSTGRES_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    },
  };
}

/** Spawns `modelgate serve <args>` and resolves once it listens. */
export function spawnServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn('node', [BIN, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MODELGATE_LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`serve did not start within 30 s: ${out}`)); }, 30_000);
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({
        url: match[1]!,
        child,
        output: () => out,
        exited,
        async kill9() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`serve exited with ${code} before listening: ${out}`)); });
  });
}
