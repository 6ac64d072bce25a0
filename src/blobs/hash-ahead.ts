/**
 * Hashing an upload session's whole digest ahead of its completion, from the session file,
 * part after part in order as they land, on the hash worker (with direct reads where the parts
 * were written past the page cache: reading them through it would fill it again). Completion keeps what was
 * hashed ahead only if the write log (write-log.ts) shows that no part it covers was written
 * again since, once the file is frozen; then it hashes only the rest.
 */
import { randomUUID } from 'node:crypto';
import type { UploadHandle } from '../core/ports.js';
import type { HashWorker } from './hash-worker.js';
import type { WriteLog } from './write-log.js';

/** Sessions whose digest is hashed ahead at once; past that, one nobody fed for PREHASH_IDLE_MS makes room. */
const MAX_PREHASHES = 64;
const PREHASH_IDLE_MS = 5 * 60_000;

/** The whole digest of a session's leading parts, as far as they have landed in order. */
export interface Prehash {
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

export class HashAhead {
  private readonly prehashes = new Map<string, Prehash>();
  /** `directReads`: the session files are read past the page cache, as their parts are written. */
  constructor(private readonly log: WriteLog, private readonly partsPath: (id: string) => string, private readonly hasher: HashWorker, private readonly options: { directReads: boolean }) {}

  /**
   * Called as a part of the session lands here: hashes its parts from disk, in order, as far
   * as each has exactly one finished write in the log. Whatever fails only leaves more for
   * completion to hash.
   */
  landed(upload: UploadHandle): void {
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
      const writes = await this.log.partWrites(upload.id, p.next);
      if (writes.length !== 1 || !writes[0]!.endsWith('.done')) return;
      const end = Math.min(upload.size, p.next * upload.partSize);
      // (A failed read leaves the digest as it was: it only ever holds whole parts.)
      await this.hasher.feed(p.key, this.partsPath(upload.id), p.offset, end, this.options.directReads);
      // A write of this part that began while it was read spoils what was read.
      const now = await this.log.partWrites(upload.id, p.next);
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

  /** What was hashed ahead for a session that is being completed; no part lands in it after this. */
  take(id: string): Prehash | undefined {
    const p = this.prehashes.get(id);
    this.prehashes.delete(id);
    return p;
  }

  /** Forgets a session (aborted, or its completion ended early). */
  forget(id: string, taken?: Prehash): void {
    const p = taken ?? this.take(id);
    if (!p) return;
    p.stopped = true;
    this.hasher.drop(p.key);
  }

  /**
   * The whole digest of the frozen session file at `path`: what was hashed ahead, if the log
   * still backs it, and the rest (the whole file otherwise). `start` is where hashing resumed.
   */
  async digest(id: string, taken: Prehash | undefined, path: string): Promise<{ start: number; digest: string; bytes: number }> {
    if (taken) {
      taken.stopped = true;
      await taken.running;
    }
    try {
      const ahead = taken && (await this.log.stillOnly(id, taken.writes)) ? taken : null;
      // (The worker refuses a digest it lost, restarted in between: then it is all hashed here.)
      const fromAhead = ahead ? await this.hasher.finish(ahead.key, path, ahead.offset, this.options.directReads).catch(() => null) : null;
      return fromAhead ? { start: ahead!.offset, ...fromAhead } : { start: 0, ...(await this.hasher.finish(randomUUID(), path, 0, this.options.directReads)) };
    } finally {
      if (taken) this.hasher.drop(taken.key);
    }
  }

  /** Bytes of an open session hashed ahead so far (a diagnostic, for tests). */
  hashedAhead(id: string): number {
    return this.prehashes.get(id)?.offset ?? 0;
  }

  /** Stops hashing ahead: what completions then need is hashed whole. */
  close(): void {
    for (const p of this.prehashes.values()) p.stopped = true;
    this.prehashes.clear();
  }
}
