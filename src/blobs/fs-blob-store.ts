/**
 * Content-addressed blobs in a local directory: `sha256/ab/<hex>`. Bytes are hashed while
 * they stream into `tmp/`, fsynced, then renamed into place, so a blob either exists whole
 * under its digest or not at all, whatever crashes.
 *
 * An upload session writes its parts at their offsets into one preallocated file,
 * `uploads/<id>.parts`, which itself becomes the blob: completion renames it to
 * `<id>.completing` (no part writer can open it after that), waits for the writers that
 * opened it before, hashes it and renames it into place. Every byte is written once.
 * Writers announce themselves with a lease file in `uploads/<id>.writers/`, created before
 * they open the session file and renewed while they write; a writer that could not renew in
 * time stops writing for good, and completion skips a lease nobody renewed for LEASE_MS
 * (its writer died).
 *
 * Lease files are also the session's write log: `<id>.writers/<part>/<uuid>` while its
 * writer writes, then renamed to `.done` or `.failed` (or `.dead` by a completion that gave
 * up on it), and kept until the session ends. So the bytes of a part whose log shows one finished write,
 * and still shows only that write when completion has frozen the file, are the bytes that
 * were there when that write finished. That lets the whole digest be hashed ahead, part by
 * part in order as they land (`Prehash`), and completion only hashes what is left.
 * Sessions from before the log (`<id>.data`) are written and completed as before, with a
 * full hash; a server too old to keep the log cannot open a `.parts` file at all.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelgateError, errors } from '../core/errors.js';
import type { BlobInfo, BlobStore, ClaimBlob, StoredPart, UploadHandle } from '../core/ports.js';
import { HashWorker } from './hash-worker.js';
import { writeHashed } from './stream-writer.js';

/**
 * A part writer's lease, in ms: completion takes a lease file that nobody renewed for this
 * long, as measured by its own clock (hosts sharing the directory need not agree on the
 * time), for a dead writer's. Writers renew every sixth of it, and stop for good once their
 * last renewal is half of it old.
 */
const LEASE_MS = 30_000;

/** Sessions whose digest is hashed ahead at once; past that, one nobody fed for PREHASH_IDLE_MS makes room. */
const MAX_PREHASHES = 64;
const PREHASH_IDLE_MS = 5 * 60_000;

/** The whole digest of a session's leading parts, as far as they have landed in order. */
interface Prehash {
  /** Its digest in the hash worker. */
  key: string;
  /** The first part not hashed yet, and where its bytes start. */
  next: number;
  offset: number;
  /** The one write in the log of each hashed part, by part number - 1. */
  writes: string[];
  /** When a part of the session last landed here (performance.now()). */
  fedAt: number;
  /** Set when a part lands while the hashing runs: it looks again before it stops. */
  wanted: boolean;
  running: Promise<void> | null;
  stopped: boolean;
}


export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly minPartSize = 64 * 1024;
  private readonly tmpDir: string;
  private readonly uploadsDir: string;

  private readonly leaseMs: number;
  private readonly prehashes = new Map<string, Prehash>();
  private readonly hasher = new HashWorker();
  /** Bytes of completed sessions that were hashed ahead, and that completion hashed itself. */
  readonly hashed = { ahead: 0, atCompletion: 0 };

  constructor(private readonly root: string, options: { leaseMs?: number } = {}) {
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.tmpDir = join(root, 'tmp');
    this.uploadsDir = join(root, 'uploads');
  }

  get location(): string {
    return this.root;
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
    await mkdir(join(this.root, 'sha256'), { recursive: true });
  }

  async put(body: AsyncIterable<Uint8Array>, options: { expectedDigest?: string; maxBytes: number; claim: ClaimBlob }): Promise<BlobInfo> {
    const tmp = join(this.tmpDir, `${randomUUID()}.part`);
    const file = await open(tmp, 'wx', 0o644);
    let kept = false;
    try {
      const { size, hash } = await writeHashed(file, body, 0, options.maxBytes, () => errors.tooLarge(options.maxBytes));
      const digest = `sha256:${hash.digest('hex')}`;
      if (options.expectedDigest !== undefined && options.expectedDigest !== digest) {
        throw errors.digestMismatch(options.expectedDigest, digest);
      }
      await file.sync();
      await file.close();
      await this.publish(tmp, { digest, size }, options.claim);
      kept = true;
      return { digest, size };
    } finally {
      if (!kept) {
        await file.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    try {
      const info = await stat(this.pathOf(digest));
      return { digest, size: info.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async read(digest: string, range?: { start: number; end: number }): Promise<AsyncIterable<Uint8Array> | null> {
    if (!(await this.stat(digest))) return null;
    return createReadStream(this.pathOf(digest), { highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async downloadUrl(): Promise<string | null> {
    return null;
  }

  async delete(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  async *list(): AsyncIterable<BlobInfo & { modifiedAt: Date }> {
    const base = join(this.root, 'sha256');
    for (const shard of (await readdir(base)).sort()) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of (await readdir(join(base, shard))).sort()) {
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        const info = await stat(join(base, shard, name)).catch(() => null);
        if (info) yield { digest: `sha256:${name}`, size: info.size, modifiedAt: info.mtime };
      }
    }
  }

  async startUpload(id: string, size: number): Promise<string> {
    const file = await open(this.partsPath(id), 'wx', 0o644);
    try {
      await file.truncate(size);
      await file.sync();
    } finally {
      await file.close();
    }
    await syncDir(this.uploadsDir);
    return '';
  }

  async putPart(upload: UploadHandle, number: number, expectedSize: number, body: AsyncIterable<Uint8Array>): Promise<StoredPart> {
    const lease = await this.takeLease(upload.id, number);
    let written = false;
    let logged = false;
    try {
      let file;
      try {
        file = await open(this.partsPath(upload.id), 'r+');
        logged = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // A session from before the write log.
        file = await open(this.sessionPath(upload.id), 'r+').catch(async (err2: NodeJS.ErrnoException) => {
          if (err2.code !== 'ENOENT') throw err2;
          throw errors.uploadNotOpen(upload.id, (await exists(this.completingPath(upload.id))) ? 'completing' : 'gone');
        });
      }
      try {
        const tooLong = () => errors.partSize(number, expectedSize);
        const { size, hash } = await writeHashed(file, body, (number - 1) * upload.partSize, expectedSize, tooLong, lease.check);
        if (size !== expectedSize) throw errors.partSize(number, expectedSize, size);
        await file.datasync();
        written = true;
        return { size, sha256: hash.digest('hex'), etag: '' };
      } finally {
        await file.close();
      }
    } finally {
      await lease.release(written);
      if (written && logged) this.hashAhead(upload);
    }
  }

  async completeUpload(upload: UploadHandle, _parts: Array<{ number: number; etag: string }>, options: { expectedDigest?: string; claim: ClaimBlob }): Promise<BlobInfo> {
    const completing = this.completingPath(upload.id);
    const prehash = this.prehashes.get(upload.id);
    this.prehashes.delete(upload.id);
    try {
      await rename(this.partsPath(upload.id), completing).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        await rename(this.sessionPath(upload.id), completing);
      });
    } catch (err) {
      const carryOn = (err as NodeJS.ErrnoException).code === 'ENOENT' && (await exists(completing));
      if (!carryOn && prehash) {
        prehash.stopped = true;
        this.hasher.drop(prehash.key);
      }
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Another completion took the file first, or one crashed half-way: carry on from where it is.
      if (!carryOn) return this.published(upload);
    }
    await this.writersDone(upload.id);
    if (prehash) {
      prehash.stopped = true;
      await prehash.running;
    }
    let hashed;
    try {
      // The file is frozen now: what was hashed ahead still holds if no part it covers was written since.
      const ahead = prehash && (await this.unchanged(upload.id, prehash)) ? prehash : null;
      // (The worker refuses a digest it lost, restarted in between: then it is all hashed here.)
      const fromAhead = ahead ? await this.hasher.finish(ahead.key, completing, ahead.offset).catch(() => null) : null;
      hashed = fromAhead ? { start: ahead!.offset, ...fromAhead } : { start: 0, ...(await this.hasher.finish(randomUUID(), completing, 0)) };
    } finally {
      if (prehash) this.hasher.drop(prehash.key);
    }
    const { start, digest, bytes } = hashed;
    const file = await open(completing, 'r');
    let info: BlobInfo;
    try {
      // What was hashed ahead came from this file: it must still be all there, and no more.
      const size = start + bytes;
      const onDisk = (await file.stat()).size;
      if (size !== upload.size || onDisk !== upload.size) throw errors.partSize(0, upload.size, onDisk);
      this.hashed.ahead += start;
      this.hashed.atCompletion += bytes;
      info = { digest: `sha256:${digest}`, size };
      if (options.expectedDigest !== undefined && options.expectedDigest !== info.digest) throw errors.digestMismatch(options.expectedDigest, info.digest);
      // Each part was synced as it was acknowledged; this covers a completion taken over from a crash.
      await file.sync();
    } finally {
      await file.close();
    }
    // Where the bytes went, for a completion retried after this one crashes.
    await writeFile(this.publishedPath(upload.id), info.digest, { flush: true });
    await this.publish(completing, info, options.claim);
    await rm(this.writersDir(upload.id), { recursive: true, force: true });
    return info;
  }

  /** Bytes of an open session this server has hashed ahead so far (a diagnostic, for tests). */
  hashedAhead(id: string): number {
    return this.prehashes.get(id)?.offset ?? 0;
  }

  /** Stops the hashing worker (a new one starts if needed). */
  async close(): Promise<void> {
    for (const prehash of this.prehashes.values()) prehash.stopped = true;
    this.prehashes.clear();
    await this.hasher.close();
  }

  async abortUpload(upload: UploadHandle): Promise<void> {
    const prehash = this.prehashes.get(upload.id);
    if (prehash) {
      prehash.stopped = true;
      this.hasher.drop(prehash.key);
    }
    this.prehashes.delete(upload.id);
    await rm(this.partsPath(upload.id), { force: true });
    await rm(this.sessionPath(upload.id), { force: true });
    await rm(this.completingPath(upload.id), { force: true });
    await rm(this.publishedPath(upload.id), { force: true });
    await rm(this.writersDir(upload.id), { recursive: true, force: true });
  }

  async *listUploads(): AsyncIterable<{ id: string; backendRef: string; startedAt: Date }> {
    // A session is up to four entries: its file (.parts, .data if older, or .completing once
    // completion took it), .published once its blob is in place, and the writers' leases.
    const newest = new Map<string, Date>();
    for (const name of await readdir(this.uploadsDir)) {
      const match = /^([0-9a-f-]{36})\.(parts|data|completing|published|writers)$/.exec(name);
      if (!match) continue;
      const info = await stat(join(this.uploadsDir, name)).catch(() => null);
      const seen = newest.get(match[1]!);
      if (info && (!seen || info.mtime > seen)) newest.set(match[1]!, info.mtime);
    }
    for (const [id, startedAt] of newest) yield { id, backendRef: '', startedAt };
  }

  /** Temporary files of single-shot uploads that a crash left behind, older than `before`. */
  async cleanTemp(before: Date): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const info = await stat(path).catch(() => null);
      if (!info || info.mtime >= before) continue;
      await rm(path, { force: true });
      files += 1;
      bytes += info.size;
    }
    return { files, bytes };
  }

  /** Records the blob, then renames the durable file into place: never visible unrecorded. */
  private async publish(path: string, info: BlobInfo, claim: ClaimBlob): Promise<void> {
    await claim(info);
    const target = this.pathOf(info.digest);
    await mkdir(join(target, '..'), { recursive: true });
    // Identical bytes are stored once, and a stored blob is never replaced: whoever holds an
    // open handle on the new file cannot reach bytes that versions already point to.
    if (await this.stat(info.digest)) {
      await rm(path, { force: true });
      return;
    }
    await rename(path, target);
    await syncDir(join(target, '..'));
  }

  /**
   * Announces a part writer before it opens the session file, and renews the announcement
   * while it writes. `check` runs before each write: a writer whose lease may have lapsed
   * (its process stalled past FENCE_MS) stops rather than write into a completed blob.
   */
  private async takeLease(id: string, part: number): Promise<{ check(): void; release(written: boolean): Promise<void> }> {
    const dir = join(this.writersDir(id), String(part));
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
  private async writersDone(id: string): Promise<void> {
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
    const dir = this.writersDir(id);
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

  /**
   * Hashes the session's parts from disk, in order, as far as each has exactly one finished
   * write in the log; called as parts land. Whatever fails here only leaves more for
   * completion to hash.
   */
  private hashAhead(upload: UploadHandle): void {
    let p = this.prehashes.get(upload.id);
    if (!p) {
      if (!this.roomForPrehash()) return;
      p = { key: randomUUID(), next: 1, offset: 0, writes: [], fedAt: 0, wanted: false, running: null, stopped: false };
    }
    // Re-inserted: the map stays ordered from the least recently fed.
    this.prehashes.delete(upload.id);
    this.prehashes.set(upload.id, p);
    p.fedAt = performance.now();
    p.wanted = true;
    if (!p.running) this.pump(upload, p);
  }

  /** Room for one more session's hashing, made by dropping one nobody fed for a while if need be. */
  private roomForPrehash(): boolean {
    if (this.prehashes.size < MAX_PREHASHES) return true;
    const [id, oldest] = this.prehashes.entries().next().value!;
    // Sessions taking parts now keep their place: a newcomer is simply hashed at completion.
    if (performance.now() - oldest.fedAt < PREHASH_IDLE_MS) return false;
    oldest.stopped = true;
    this.hasher.drop(oldest.key);
    this.prehashes.delete(id);
    return true;
  }

  private pump(upload: UploadHandle, p: Prehash): void {
    p.running = (async () => {
      while (p.wanted && !p.stopped) {
        p.wanted = false;
        await this.hashLanded(upload, p);
      }
    })().catch(() => {
      // The file is gone (completed or aborted) or unreadable. A completion that took this
      // digest keeps what it holds; one nobody took is dropped.
      p.stopped = true;
      if (this.prehashes.get(upload.id) === p) {
        this.prehashes.delete(upload.id);
        this.hasher.drop(p.key);
      }
    }).finally(() => {
      p.running = null;
      // A part that landed as the loop was ending.
      if (p.wanted && !p.stopped) this.pump(upload, p);
    });
  }

  private async hashLanded(upload: UploadHandle, p: Prehash): Promise<void> {
    const partCount = Math.max(1, Math.ceil(upload.size / upload.partSize));
    while (p.next <= partCount && !p.stopped) {
      const writes = await this.partWrites(upload.id, p.next);
      if (writes.length !== 1 || !writes[0]!.endsWith('.done')) return;
      const end = Math.min(upload.size, p.next * upload.partSize);
      // (A failed read leaves the digest as it was: it only ever holds whole parts.)
      await this.hasher.feed(p.key, this.partsPath(upload.id), p.offset, end);
      // A write of this part that began while it was read spoils what was read.
      const now = await this.partWrites(upload.id, p.next);
      if (now.length !== 1 || now[0] !== writes[0]) {
        await this.hasher.undo(p.key);
        p.stopped = true;
        return;
      }
      p.writes.push(writes[0]!);
      p.next += 1;
      p.offset = end;
    }
  }

  /** Every write part `number` had, as its lease files are named now. */
  private partWrites(id: string, number: number): Promise<string[]> {
    return listDir(join(this.writersDir(id), String(number)));
  }

  /** Whether every part hashed ahead still has, in the frozen file's log, the one write it had then. */
  private async unchanged(id: string, p: Prehash): Promise<boolean> {
    // A lease not filed under its part is an older server's: its writes are not in the log.
    if ((await listDir(this.writersDir(id))).some((entry) => !/^\d+$/.test(entry))) return false;
    for (let n = 1; n < p.next; n++) {
      const writes = await this.partWrites(id, n);
      if (writes.length !== 1 || writes[0] !== p.writes[n - 1]) return false;
    }
    return true;
  }

  /** A completion retried after one that published the blob and crashed before it was recorded. */
  private async published(upload: UploadHandle): Promise<BlobInfo> {
    const digest = await readFile(this.publishedPath(upload.id), 'utf8').catch(() => null);
    const info = digest === null ? null : await this.stat(digest);
    if (!info || info.size !== upload.size) throw Object.assign(new Error(`upload session ${upload.id} has no stored parts`), { code: 'ENOENT' });
    return info;
  }

  private checkId(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new ModelgateError('VALIDATION_FAILED', `bad upload id ${id}`);
    return id;
  }

  private partsPath(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.parts`);
  }

  private writersDir(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.writers`);
  }

  /** A session's file before the write log. */
  private sessionPath(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.data`);
  }

  private completingPath(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.completing`);
  }

  private publishedPath(id: string): string {
    return join(this.uploadsDir, `${this.checkId(id)}.published`);
  }

  private pathOf(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ModelgateError('VALIDATION_FAILED', `bad digest ${digest}`);
    return join(this.root, 'sha256', hex.slice(0, 2), hex);
  }
}

/** A directory's entries; none if it does not exist. */
async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
