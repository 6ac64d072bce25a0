/**
 * The sha256 of a file written in order from its start, as `writeChecked` writes an upload.
 * A small file is hashed as its chunks go by. Past `INLINE_BYTES`, the hash worker hashes the
 * file instead, reading back what was written while the rest is still arriving: the event
 * loop, which otherwise spent a third of a large upload hashing, only receives and writes,
 * and the hashing runs on the other core.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { HashWorker } from './hash-worker.js';

/** Hashed inline up to here (a few milliseconds of the event loop); the worker would cost a round trip, or its start-up. */
const INLINE_BYTES = 8 << 20;
/** The worker is handed at least this much at once (or the rest, at the end). */
const FEED_BYTES = 8 << 20;

export class WrittenFileDigest {
  private inline: Hash | null = createHash('sha256');
  private seen = 0;
  /** How far the file is written, and how far the worker has been handed it. */
  private writtenTo = 0;
  private fed = 0;
  private feeding: Promise<void> | null = null;
  private failed = false;
  private stopped = false;
  private readonly key = randomUUID();

  constructor(private readonly hasher: HashWorker, private readonly path: string) {}

  /** For `writeChecked`'s `observe`: each chunk as it arrives. */
  readonly observe = (chunk: Uint8Array): void => {
    this.seen += chunk.length;
    if (!this.inline) return;
    if (this.seen <= INLINE_BYTES) this.inline.update(chunk);
    else {
      // Too large to hash here: the worker starts over from the file's first byte.
      this.inline = null;
      this.pump();
    }
  };

  /** For `writeChecked`'s `onWritten`: the bytes before `end` are in the file. */
  readonly written = (end: number): void => {
    this.writtenTo = end;
    this.pump();
  };

  /** The digest (hex) of the whole file, once all its `size` bytes are written. */
  async hex(size: number): Promise<string> {
    if (this.inline) return this.inline.digest('hex');
    while (this.feeding) await this.feeding;
    if (this.stopped) throw new Error(`the digest of ${this.path} was dropped`);
    this.stopped = true;
    // (A worker that restarted in between lost the digest so far and refuses to go on from
    // it: then it hashes the whole file again.)
    const rest = this.failed ? null : await this.hasher.finish(this.key, this.path, this.fed).catch(() => null);
    if (!rest) this.hasher.drop(this.key);
    const { digest, bytes } = rest ? { digest: rest.digest, bytes: this.fed + rest.bytes } : await this.hasher.finish(randomUUID(), this.path, 0);
    // What was hashed came from the file: it must be all there, and no more.
    if (bytes !== size) throw new Error(`${this.path} holds ${bytes} bytes, not the ${size} written`);
    return digest;
  }

  /** The upload failed: nothing more is hashed, and the worker forgets the digest. */
  drop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.inline) this.hasher.drop(this.key);
  }

  private pump(): void {
    if (this.inline || this.feeding || this.failed || this.stopped || this.writtenTo - this.fed < FEED_BYTES) return;
    const start = this.fed;
    const end = this.writtenTo;
    this.fed = end;
    let feeding;
    try {
      feeding = this.hasher.feed(this.key, this.path, start, end);
    } catch {
      // (The worker could not start: `hex` hashes the whole file, and fails if it still cannot.)
      this.failed = true;
      return;
    }
    this.feeding = feeding.then(
      () => { this.feeding = null; this.pump(); },
      () => { this.feeding = null; this.failed = true; },
    );
  }
}
