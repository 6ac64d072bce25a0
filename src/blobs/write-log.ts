/**
 * The lease files of an upload session's part writers, `uploads/<id>.writers/<part>/<uuid>`,
 * which are also its write log. A writer takes a lease before it opens the session file and
 * renews it while it writes; on release the file is renamed `.done` or `.failed`, and a
 * completion that gave up on a dead writer renames it `.dead`. Nothing is removed until the
 * session ends, so the log holds every write the session had, from every server sharing the
 * directory (see fs-blob-store.ts for what relies on it).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelgateError } from '../core/errors.js';

/**
 * A part writer's lease, in ms: completion takes a lease file that nobody renewed for this
 * long, as measured by its own clock (hosts sharing the directory need not agree on the
 * time), for a dead writer's. Writers renew every sixth of it, and stop for good once their
 * last renewal is half of it old.
 */
const LEASE_MS = 30_000;

export interface Lease {
  /** Throws once the lease may have lapsed: the writer must stop. */
  check(): void;
  release(written: boolean): Promise<void>;
}

export class WriteLog {
  constructor(private readonly uploadsDir: string, private readonly leaseMs = LEASE_MS) {}

  /** The session's lease directory. */
  dir(id: string): string {
    return join(this.uploadsDir, `${checkUploadId(id)}.writers`);
  }

  async remove(id: string): Promise<void> {
    await rm(this.dir(id), { recursive: true, force: true });
  }

  /**
   * Announces a part writer before it opens the session file, and renews the announcement
   * while it writes. `check` runs before each write: a writer whose lease may have lapsed
   * (its process stalled for half a lease) stops rather than write into a completed blob.
   */
  async take(id: string, part: number): Promise<Lease> {
    const dir = join(this.dir(id), String(part));
    await mkdir(dir, { recursive: true });
    const path = join(dir, randomUUID());
    await writeFile(path, '', { flag: 'wx' });
    let renewedAt = performance.now();
    // Once lapsed, never renewed: completion may have taken the lease for a dead writer's.
    let lapsed = false;
    const fence = this.leaseMs / 2;
    const timer = setInterval(() => {
      lapsed ||= performance.now() - renewedAt > fence;
      if (lapsed) return;
      const now = new Date();
      const started = performance.now();
      utimes(path, now, now).then(() => { if (!lapsed) renewedAt = started; }, () => { /* the next check decides */ });
    }, this.leaseMs / 6);
    timer.unref();
    return {
      check() {
        lapsed ||= performance.now() - renewedAt > fence;
        // Some bytes may be written: the part is left missing, to be sent again.
        if (lapsed) throw new ModelgateError('UNAVAILABLE', `this part of upload session ${id} stopped: its writer stalled past its lease; send the part again`, { upload_id: id });
      },
      async release(written) {
        clearInterval(timer);
        // Kept in the write log; gone already if a completion gave up on this writer.
        await rename(path, `${path}.${written ? 'done' : 'failed'}`).catch(() => {});
      },
    };
  }

  /**
   * Waits until every part writer that opened the session file has finished, or is dead.
   * Called once the file is renamed: a writer that opened it did so after taking its lease,
   * so every lease that matters is in the first listing, and only those still live are watched.
   */
  async writersDone(id: string): Promise<void> {
    let live = await this.liveLeases(id);
    const seen = new Map<string, { mtime: number; since: number }>();
    while (live.length > 0) {
      const still: string[] = [];
      for (const path of live) {
        const info = await stat(path).catch(() => null);
        if (!info) continue; // finished: renamed .done or .failed
        const now = performance.now();
        const last = seen.get(path);
        if (!last || last.mtime !== info.mtimeMs) seen.set(path, { mtime: info.mtimeMs, since: now });
        // Unrenewed for a whole lease while we watched: its writer is gone.
        if (now - seen.get(path)!.since > this.leaseMs) await rename(path, `${path}.dead`).catch(() => {});
        else still.push(path);
      }
      live = still;
      if (live.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Leases of writers still at work: `<part>/<uuid>` without a suffix, or a bare `<uuid>` of an older server. */
  private async liveLeases(id: string): Promise<string[]> {
    const dir = this.dir(id);
    const live: string[] = [];
    for (const entry of await listDir(dir)) {
      if (/^\d+$/.test(entry)) {
        for (const name of await listDir(join(dir, entry))) if (!name.includes('.')) live.push(join(dir, entry, name));
      } else if (!entry.includes('.')) {
        live.push(join(dir, entry));
      }
    }
    return live;
  }

  /** Every write part `number` had, as its lease files are named now. */
  partWrites(id: string, number: number): Promise<string[]> {
    return listDir(join(this.dir(id), String(number)));
  }

  /**
   * Whether parts 1..writes.length each still show exactly the one write given for them, and
   * no lease of an older server (not filed under its part, so outside the log) is there.
   */
  async stillOnly(id: string, writes: readonly string[]): Promise<boolean> {
    if ((await listDir(this.dir(id))).some((entry) => !/^\d+$/.test(entry))) return false;
    for (let n = 1; n <= writes.length; n++) {
      const now = await this.partWrites(id, n);
      if (now.length !== 1 || now[0] !== writes[n - 1]) return false;
    }
    return true;
  }
}

export function checkUploadId(id: string): string {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new ModelgateError('VALIDATION_FAILED', `bad upload id ${id}`);
  return id;
}

/** A directory's entries; none if it does not exist. */
async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
}
