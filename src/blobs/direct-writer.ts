/**
 * Writing a large upload past the page cache (`O_DIRECT`), hashing it from memory.
 *
 * A buffered write copies every byte into the page cache, and the kernel has to find room
 * there first: writing 1 GiB that way cost the writing threads 0.3 s of CPU when memory was
 * free and 1.5-2.8 s when it first had to reclaim the cache (on this 2-core machine that
 * halved a one-request upload, 818-873 against 316-522 MiB/s), and it evicts whatever the
 * cache held, the registry's database pages included. A direct write goes from the process's
 * memory to the disk for 0.13-0.17 s per GiB either way.
 *
 * The bytes are copied as they arrive into 1 MiB slabs, each written at its offset (up to
 * eight in flight) and then lent to the hash worker, in order, which hashes it in place and
 * hands it back (reading the file back would now go to the disk). Shared memory would spare
 * the lending, but V8 copies into it a byte at a time unless both sides line up: 0.3 s per
 * GiB against 0.02. A slab is reused once it is back. Direct
 * writes need memory, offsets and lengths aligned to the device's block; a JavaScript buffer
 * has no alignment to ask for, so each slab's aligned start is found by trying direct writes
 * from successive offsets into it, once, when the slab is made. The last slab is written
 * padded to a whole block and the file cut back to its size. Where a filesystem refuses
 * direct writes (tmpfs, say), `open` answers null and the caller writes through the cache.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { constants, writeSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { HashWorker } from './hash-worker.js';
import { writeAll } from './stream-writer.js';

const SLAB_BYTES = 1 << 20;
/** The largest block alignment looked for, and the padding of the last write. */
const BLOCK = 4096;
/** Slabs written and hashed at once, per upload: 8 MiB. */
const SLABS_PER_FILE = 8;
/** Slabs kept for the next upload once one ends. */
const SLABS_KEPT = 2 * SLABS_PER_FILE;

/** 1 MiB of memory that direct writes accept, from `start` in `buffer`. */
export interface Slab {
  /** Replaced as the hash worker hands the memory back; detached (empty) if the worker failed with it. */
  buffer: ArrayBuffer;
  start: number;
}

export interface DirectFile {
  file: FileHandle;
  slabs: Slab[];
}

/** Direct writes into one directory's filesystem, with the aligned slabs made for it. */
export class DirectWrites {
  private readonly idle: Slab[] = [];

  /** `enabled: false`: `open` always answers null. */
  constructor(private readonly enabled = true) {}

  /** Opens a new file (O_EXCL) for direct writes with its slabs; null if its filesystem cannot take them. */
  async open(path: string): Promise<DirectFile | null> {
    const flag = constants.O_DIRECT;
    if (!this.enabled || flag === undefined) return null;
    let file: FileHandle;
    try {
      file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | flag, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      // Refused after the file was made, on some filesystems: the caller makes it again.
      await rm(path, { force: true });
      return null;
    }
    const slabs: Slab[] = [];
    try {
      while (slabs.length < SLABS_PER_FILE) {
        // Probing writes at offset 0, before any byte of the upload is there.
        const slab = this.idle.pop() ?? alignedSlab(file.fd);
        if (!slab) break;
        slabs.push(slab);
      }
    } catch (err) {
      // A probe failed for another reason than alignment (a full disk, say): nothing is left.
      this.release(slabs);
      await file.close();
      await rm(path, { force: true });
      throw err;
    }
    if (slabs.length < SLABS_PER_FILE) {
      this.release(slabs);
      await file.close();
      await rm(path, { force: true });
      return null;
    }
    return { file, slabs };
  }

  /** The slabs of a file whose writes and hashing are all over. */
  release(slabs: Slab[]): void {
    for (const slab of slabs) if (this.idle.length < SLABS_KEPT && slab.buffer.byteLength > 0) this.idle.push(slab);
  }
}

/**
 * A slab that direct writes to `fd` accept, or null if no start in the first block of a
 * slightly larger buffer is aligned enough (the allocator's alignment is at least 16 bytes).
 */
function alignedSlab(fd: number): Slab | null {
  const buffer = new ArrayBuffer(SLAB_BYTES + BLOCK);
  const memory = new Uint8Array(buffer);
  for (let start = 0; start < BLOCK; start += 16) {
    try {
      writeSync(fd, memory, start, BLOCK, 0);
      return { buffer, start };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    }
  }
  return null;
}

export interface DirectWriteOptions {
  /** More bytes than this throw `tooLong()` as soon as they arrive. */
  maxBytes: number;
  tooLong: () => Error;
  hasher: HashWorker;
}

/**
 * Writes `body` from the start of `direct.file`, hashing it; answers its size and sha256
 * (hex). Nothing is synced: the caller fsyncs the file (which writes its size and extents).
 * On failure nothing is left writing to the file or hashing from its slabs.
 */
export async function writeDirect(direct: DirectFile, body: AsyncIterable<Uint8Array>, options: DirectWriteOptions): Promise<{ size: number; hex: string }> {
  const { file, slabs } = direct;
  const digest = new SlabDigest(options.hasher);
  // What each slab is busy with (its write and its hashing), and the first failure of any.
  const busy: Array<Promise<void> | null> = slabs.map(() => null);
  let failure: unknown = null;
  // The last slab lent to the digest: they go in order.
  let lent: Promise<void> = Promise.resolve();
  let slab = 0;
  let memory = view(slabs[0]!);
  let filled = 0;
  let size = 0;
  let position = 0;

  const send = (length: number, last: boolean) => {
    const sent = slabs[slab]!;
    const padded = last ? Math.ceil(length / BLOCK) * BLOCK : length;
    memory.fill(0, length, padded);
    const written = writeAll(file, [memory.subarray(0, padded)], position);
    position += length;
    // Lent once written: nothing here may still read the memory while the worker has it.
    let hashed: Promise<void> = Promise.resolve();
    lent = Promise.all([written, lent]).then(() => { hashed = digest.update(sent, length); });
    const both = lent.then(() => hashed);
    // Busy until its own write has ended too: after an earlier slab failed, `both` fails at
    // once, while this slab may still be being written from.
    const done = Promise.allSettled([written, both]).then(() => both);
    done.catch((err: unknown) => { failure ??= err; });
    busy[slab] = done;
  };
  /** The next slab, once it is back. */
  const next = async () => {
    slab = (slab + 1) % slabs.length;
    filled = 0;
    await busy[slab];
    if (failure !== null) throw failure;
    memory = view(slabs[slab]!);
  };

  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > options.maxBytes) throw options.tooLong();
      let from = 0;
      while (from < chunk.length) {
        const take = Math.min(chunk.length - from, SLAB_BYTES - filled);
        memory.set(chunk.subarray(from, from + take), filled);
        filled += take;
        from += take;
        if (filled === SLAB_BYTES) {
          send(SLAB_BYTES, false);
          await next();
        }
      }
    }
    if (filled > 0) send(filled, true);
    await Promise.all(busy);
    // Cut back to the bytes that came: the last block was padded (and a probe wrote the first).
    await file.truncate(size);
    return { size, hex: await digest.hex(size) };
  } catch (err) {
    await Promise.allSettled(busy);
    digest.drop();
    throw err;
  }
}

const view = (slab: Slab) => new Uint8Array(slab.buffer, slab.start, SLAB_BYTES);

/** A sha256 of slabs in order, on the hash worker; in place if the worker cannot start. */
class SlabDigest {
  private readonly key = randomUUID();
  private at = 0;
  private local: Hash | null = null;
  /** The bytes lent are gone once hashed: the digest must outlast any pause of the upload. */
  private readonly release: () => void;

  constructor(private readonly hasher: HashWorker) {
    this.release = hasher.hold();
  }

  /** Hashes the first `length` bytes of `slab`, lending its memory to the worker until done. */
  update(slab: Slab, length: number): Promise<void> {
    const start = this.at;
    this.at += length;
    if (start === 0) {
      try {
        return this.lend(slab, start, length);
      } catch {
        // (No worker could start, and nothing was lent: all of it is hashed here.)
        this.local = createHash('sha256');
      }
    }
    if (this.local) {
      this.local.update(new Uint8Array(slab.buffer, slab.start, length));
      return Promise.resolve();
    }
    return this.lend(slab, start, length);
  }

  private lend(slab: Slab, start: number, length: number): Promise<void> {
    return this.hasher.bytes(this.key, start, slab.buffer, slab.start, length).then((buffer) => { slab.buffer = buffer; });
  }

  async hex(size: number): Promise<string> {
    try {
      if (this.at !== size) throw new Error(`hashed ${this.at} bytes of ${size}`);
      if (this.local) return this.local.digest('hex');
      return await this.hasher.digest(this.key, size);
    } finally {
      this.release();
    }
  }

  drop(): void {
    this.release();
    if (!this.local) this.hasher.drop(this.key);
  }
}
