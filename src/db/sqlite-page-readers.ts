/**
 * Audit verify's pages on SQLite, read and hashed on worker threads, each with a read-only
 * connection of its own, two pages at once. On the server's read-only connection the pages
 * are read one after the other on the event loop, and reading is most of verify's cost: the
 * database builds each entry's hashed text in 3.1-3.6 µs, where hashing it takes 0.5-0.7.
 * A worker answers each entry with its seq, its stored hashes and `true` where its text
 * hashes to its hash (the text itself where it does not, or null), so only those cross back
 * to the event loop, which links the chain (audit-chain.ts).
 *
 * Each worker's connection, like the server's read-only one, sees committed data only. The
 * workers start with the first read and stop once none came for `IDLE_MS`: a server that is
 * not verifying holds no extra connections or threads. Until a worker is ready, and where
 * none can start, `read` throws `PageReadersUnavailable` and the caller reads on its own
 * connection, so a verify never waits for them to start.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AuditHashInput } from '../core/ports.js';

/** Workers reading at once: verify keeps three pages in flight. */
const WORKERS = 2;
/** A worker stops once no read came for this long. */
const IDLE_MS = 10_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const SQLite = require(workerData.driver);
const sha256 = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text).digest('hex');
const db = new SQLite(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 10000');
const statement = db.prepare(workerData.sql).raw(true);
parentPort.on('message', ({ id, params }) => {
  try {
    const rows = statement.all(...params);
    for (const row of rows) if (row[1] !== null && sha256(row[1]) === row[3]) row[1] = true;
    parentPort.postMessage({ id, rows });
  } catch (err) {
    parentPort.postMessage({ id, error: { message: String(err && err.message), code: err && err.code } });
  }
});
parentPort.postMessage({ ready: true });
`;

export class PageReadersUnavailable extends Error {}

interface Pending {
  resolve: (rows: AuditHashInput[]) => void;
  reject: (err: Error) => void;
}

interface WorkerMessage {
  ready?: true;
  id?: number;
  rows?: AuditHashInput[];
  error?: { message: string; code?: string };
}

class PageWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private idle: NodeJS.Timeout | null = null;
  ready = false;

  constructor(options: { file: string; sql: string; driver: string }, private readonly onGone: (w: PageWorker, started: boolean) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: options });
    this.worker.unref();
    this.worker.on('message', (message: WorkerMessage) => {
      if (message.ready) {
        this.ready = true;
        this.armIdle();
        return;
      }
      const pending = this.pending.get(message.id!);
      if (!pending) return;
      this.pending.delete(message.id!);
      this.armIdle();
      if (message.error) pending.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      else pending.resolve(message.rows!);
    });
    let ended = false;
    const gone = (err: Error) => {
      if (ended) return;
      ended = true;
      for (const pending of this.pending.values()) pending.reject(new PageReadersUnavailable(err.message));
      this.pending.clear();
      if (this.idle) clearTimeout(this.idle);
      this.onGone(this, this.ready);
    };
    this.worker.on('error', gone);
    this.worker.on('exit', () => gone(new Error('the page reader stopped')));
  }

  get busy(): number {
    return this.pending.size;
  }

  read(params: unknown[]): Promise<AuditHashInput[]> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    const id = this.nextId++;
    const rows = new Promise<AuditHashInput[]>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.worker.postMessage({ id, params });
    return rows;
  }

  async stop(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    await this.worker.terminate();
  }

  private armIdle(): void {
    if (this.pending.size > 0) return;
    this.idle = setTimeout(() => void this.stop(), IDLE_MS);
    this.idle.unref();
  }
}

export class SqlitePageReaders {
  private readonly workers: PageWorker[] = [];
  /** Set once a worker could not start, or the readers were closed: every read after that is the caller's. */
  private broken = false;
  private readonly driver: string | null;
  private readonly file: string;
  /** Pages the workers answered. */
  served = 0;

  /** `sql`: the statement of `auditHashInputs` (journal-repository.ts), with its two parameters. */
  constructor(file: string, private readonly sql: string) {
    // (Resolved now: a worker resolves a relative name against the directory it starts in.)
    this.file = resolve(file);
    try {
      this.driver = createRequire(import.meta.url).resolve('better-sqlite3');
    } catch {
      this.driver = null;
    }
  }

  /** A page as `auditHashInputs` answers it, with `true` for each text that hashed to its hash. */
  async read(afterSeq: number, limit: number): Promise<AuditHashInput[]> {
    if (this.broken || !this.driver) throw new PageReadersUnavailable('no page readers here');
    while (this.workers.length < WORKERS) {
      try {
        this.workers.push(new PageWorker({ file: this.file, sql: this.sql, driver: this.driver }, (gone, started) => {
          const at = this.workers.indexOf(gone);
          if (at >= 0) this.workers.splice(at, 1);
          if (!started) this.broken = true;
        }));
      } catch (err) {
        // (No thread to be had: the caller reads, now and from now on.)
        this.broken = true;
        throw new PageReadersUnavailable(String((err as Error).message));
      }
    }
    let ready = this.workers.filter((w) => w.ready);
    if (ready.length === 0) {
      // A turn of the event loop, for the workers' word that they are ready to be heard
      // (the caller's own reads are synchronous: without it they never would be).
      await new Promise((resolve) => setImmediate(resolve));
      ready = this.workers.filter((w) => w.ready);
      if (ready.length === 0) throw new PageReadersUnavailable('the page readers are starting');
    }
    const worker = ready.reduce((best, w) => (w.busy < best.busy ? w : best));
    const rows = await worker.read([afterSeq, limit]);
    this.served += 1;
    return rows;
  }

  async close(): Promise<void> {
    this.broken = true;
    await Promise.all(this.workers.splice(0).map((w) => w.stop()));
  }
}
