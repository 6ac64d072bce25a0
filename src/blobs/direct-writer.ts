/**
 * Writing large uploads past the page cache (`O_DIRECT`).
 *
 * A buffered write copies every byte into the page cache, and the kernel has to find room
 * there first: writing 1 GiB that way cost the writing threads 0.3 s of CPU when memory was
 * free and 1.5-2.8 s when it first had to reclaim the cache (on this 2-core machine that
 * halved a one-request upload, 818-873 against 316-522 MiB/s), and it evicts whatever the
 * cache held, the registry's database pages included. A direct write goes from the process's
 * memory to the disk for 0.13-0.17 s per GiB either way.
 *
 * The bytes are copied as they arrive into 1 MiB slabs, each written at its offset, several
 * in flight. A single upload (`writeDirect`) also copies each slab into plain memory lent to
 * the hash worker, in order, which hashes it in place and hands it back (reading the file back
 * would now go to the disk; a slab itself cannot be lent, and shared memory would cost more:
 * V8 copies into it a byte at a time unless both sides line up, 0.3 s per GiB against 0.02
 * for the second copy). A session's part (`writeDirectPart`)
 * is checksummed as it arrives, as through the cache, and its slabs are free once written:
 * the session's whole digest is hashed from the file (hash-ahead.ts, with direct reads).
 *
 * Direct writes need offsets and lengths aligned to the device's block, and memory aligned
 * to it too; they are fast only from memory aligned to a page. This machine's disk takes
 * 512-byte aligned memory, and 1 GiB written from such memory ran at 61-123 MiB/s, against
 * 757-976 from page-aligned memory, in the same run. A JavaScript buffer has no alignment to
 * ask for, but a `WebAssembly.Memory` starts on a page: the slabs are views into those. A
 * single upload's last slab is written padded to a whole block and the file cut back to its
 * size; a part's last bytes past a whole block (the session's very end) are written through
 * the page cache instead, so the session file never changes size.
 * Where a filesystem refuses direct writes (tmpfs, say), `open` answers null and the caller
 * writes through the cache; a direct write refused later goes on through the cache too.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { HashWorker } from './hash-worker.js';
import { systemPageSize } from './page-size.js';
import { checksummer, writeAll, type Checksums, type WrittenBytes } from './stream-writer.js';

const SLAB_BYTES = 1 << 20;
/**
 * Offsets and lengths of direct writes are multiples of this: the largest block size in
 * common use, 4 KiB, or the kernel's page where pages are larger (64 KiB on some arm64 and
 * ppc64 kernels). A buffered write must never share a page with a direct write under way: the
 * direct write drops the cached page before it lands, a buffered write can read it back in
 * with the disk's old bytes meanwhile, and writing back that page later puts them over the
 * direct write's. Where both start on pages, the session's buffered tail and the other parts'
 * direct writes never meet.
 */
export const DIRECT_BLOCK = Math.max(4096, systemPageSize());
/** Slabs written at once by a single upload, and copies of them hashed at once: 8 MiB each. */
const SLABS_PER_UPLOAD = 8;
/** Slabs written at once by a part: four parts in parallel keep 16 MiB in flight, as many as one request. */
const SLABS_PER_PART = 4;
/** Slabs kept for the next upload once one ends. */
const SLABS_KEPT = 16;
const WASM_PAGE = 1 << 16;

/** 1 MiB of page-aligned memory, which direct writes take at full speed. */
export interface Slab {
  memory: Uint8Array;
}

export interface DirectFile {
  file: FileHandle;
  slabs: Slab[];
  /** The block its writes start and end on (`DirectWrites.block`). */
  block: number;
}

/** Direct writes into one directory's filesystem, with the aligned slabs made for it. */
export class DirectWrites {
  private readonly idle: Slab[] = [];
  /** Whether a direct write from a slab went through, once tried. */
  private accepted: Promise<boolean> | null = null;

  /**
   * `scratchDir`: where a direct write is tried first, on the filesystem of the files written.
   * `enabled: false`: `open` always answers null.
   */
  constructor(private readonly scratchDir: string, private readonly enabled = true, readonly block = DIRECT_BLOCK) {}

  /**
   * Opens `path` for direct writes, with its slabs: a new file (O_EXCL) for a single upload, an
   * existing one for a part. Null if its filesystem cannot take direct writes.
   */
  async open(path: string, use: 'upload' | 'part'): Promise<DirectFile | null> {
    const flag = constants.O_DIRECT;
    // (Pages larger than a slab could not hold a padded tail: no such kernel is in use.)
    if (!this.enabled || flag === undefined || this.block > SLAB_BYTES) return null;
    const slabs = this.take(use === 'upload' ? SLABS_PER_UPLOAD : SLABS_PER_PART);
    if (!slabs) return null;
    const create = use === 'upload';
    let file: FileHandle | null = null;
    try {
      if (!(await (this.accepted ??= this.tryWrite(slabs[0]!)))) return null;
      file = await open(path, constants.O_WRONLY | flag | (create ? constants.O_CREAT | constants.O_EXCL : 0), 0o644);
      return { file, slabs, block: this.block };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      // Refused after the file was made, on some filesystems: the caller makes it again.
      if (create) await rm(path, { force: true });
      return null;
    } finally {
      if (!file) this.release(slabs);
    }
  }

  /** The slabs of a file whose writes are all over. */
  release(slabs: Slab[]): void {
    for (const slab of slabs) if (this.idle.length < SLABS_KEPT) this.idle.push(slab);
  }

  /** `count` slabs, idle ones first; null where WebAssembly cannot give the memory. */
  private take(count: number): Slab[] | null {
    const slabs = this.idle.splice(Math.max(0, this.idle.length - count));
    const missing = count - slabs.length;
    if (missing === 0) return slabs;
    let buffer: ArrayBuffer;
    try {
      // Never grown (growing would detach the views), and freed once no view of it is left.
      buffer = new WebAssembly.Memory({ initial: (missing * SLAB_BYTES) / WASM_PAGE, maximum: (missing * SLAB_BYTES) / WASM_PAGE }).buffer;
    } catch {
      this.release(slabs);
      return null;
    }
    for (let i = 0; i < missing; i++) slabs.push({ memory: new Uint8Array(buffer, i * SLAB_BYTES, SLAB_BYTES) });
    return slabs;
  }

  /** Whether a direct write from `slab` goes through here (a filesystem may take the flag and refuse the write). */
  private async tryWrite(slab: Slab): Promise<boolean> {
    const probe = join(this.scratchDir, `${randomUUID()}.probe`);
    try {
      const file = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o644);
      try {
        await file.write(slab.memory, 0, this.block, 0);
        return true;
      } finally {
        await file.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') return false;
      // Anything else (a full disk, say) is not an answer: this upload goes through the cache,
      // which meets the same trouble if it lasts and reports it, and the next one asks again.
      this.accepted = null;
      return false;
    } finally {
      // (A probe left behind is only a stray file: it must not turn the answer into a failure.)
      await rm(probe, { force: true }).catch(() => {});
    }
  }
}

interface SlabWriteOptions {
  /** Where in the file the bytes go: a multiple of the file's block. */
  position: number;
  /** More bytes than this throw `tooLong()` as soon as they arrive. */
  maxBytes: number;
  tooLong: () => Error;
  /** Sees each chunk as it arrives, before it is copied. */
  observe?: (chunk: Uint8Array) => void;
  /** Runs before each write, and stops the writing by throwing. */
  mayWrite?: () => void;
  /**
   * Given each slab's bytes, in order, as their write starts; it must be done reading them
   * when its answer settles, and the next slab waits for that.
   */
  sent?: (bytes: Uint8Array) => Promise<void>;
  /**
   * The last bytes past a whole block: padded with zeros and written directly (`'pad'`: the
   * caller cuts the file back), or handed to this, with where they go.
   */
  tail: 'pad' | ((bytes: Uint8Array, position: number) => Promise<void>);
}

/**
 * Writes `body` into `direct.file` from `options.position`, through its slabs; answers how
 * many bytes came. Nothing is synced. On failure nothing is left writing to the file from the
 * slabs.
 */
async function writeSlabs(direct: DirectFile, body: AsyncIterable<Uint8Array>, options: SlabWriteOptions): Promise<number> {
  const { file, slabs, block } = direct;
  const { tail } = options;
  // Each slab's write under way, and the first failure of any.
  const busy: Array<Promise<void> | null> = slabs.map(() => null);
  let failure: unknown = null;
  let slab = 0;
  let memory = slabs[0]!.memory;
  let filled = 0;
  let size = 0;
  let position = options.position;
  // The bytes past the last whole block, where `tail` takes them. (Typed so: `send` sets it.)
  let tailBytes = null as { bytes: Uint8Array; at: number } | null;

  // Where a direct write is refused after the probe passed (EINVAL, on a filesystem that takes
  // some and not others), the same file reopened without O_DIRECT takes that write and every
  // one after it. (Writes start on the block, a page at least, so the two kinds of write never
  // share a page.) Where it cannot be reopened, the refusal fails the upload.
  let cache = null as Promise<FileHandle> | null; // (Typed so: `viaCache` sets it.)
  const viaCache = async (bytes: Uint8Array, at: number) => writeAll(await (cache ??= reopenCached(file)), [bytes], at);
  const write = (bytes: Uint8Array, at: number): Promise<void> => {
    if (cache) return viaCache(bytes, at);
    return writeAll(file, [bytes], at).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EINVAL') throw err;
      const reopened = await (cache ??= reopenCached(file)).catch(() => null);
      if (!reopened) throw err;
      return writeAll(reopened, [bytes], at);
    });
  };

  const send = async (length: number, last: boolean) => {
    options.mayWrite?.();
    const at = position;
    position += length;
    let writes: Promise<void>;
    const whole = length - (length % block);
    if (whole === length || !last) {
      writes = write(memory.subarray(0, length), at);
    } else if (tail === 'pad') {
      const padded = whole + block;
      memory.fill(0, length, padded);
      writes = write(memory.subarray(0, padded), at);
    } else {
      // The bytes past the last whole block go once every direct write of this part has ended.
      writes = whole > 0 ? write(memory.subarray(0, whole), at) : Promise.resolve();
      tailBytes = { bytes: memory.subarray(whole, length), at: at + whole };
    }
    writes.catch((err: unknown) => { failure ??= err; });
    busy[slab] = writes;
    await options.sent?.(memory.subarray(0, length));
  };
  /** The next slab, once its last write is over. */
  const next = async () => {
    slab = (slab + 1) % slabs.length;
    filled = 0;
    await busy[slab]?.catch(() => {});
    if (failure !== null) throw failure;
    memory = slabs[slab]!.memory;
  };

  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > options.maxBytes) throw options.tooLong();
      options.observe?.(chunk);
      let from = 0;
      while (from < chunk.length) {
        const take = Math.min(chunk.length - from, SLAB_BYTES - filled);
        memory.set(chunk.subarray(from, from + take), filled);
        filled += take;
        from += take;
        if (filled === SLAB_BYTES) {
          await send(SLAB_BYTES, false);
          await next();
        }
      }
    }
    if (filled > 0) await send(filled, true);
    await Promise.all(busy);
    if (tailBytes && typeof tail === 'function') await tail(tailBytes.bytes, tailBytes.at);
    return size;
  } catch (err) {
    await Promise.allSettled(busy);
    throw err;
  } finally {
    // (One inode: the caller's sync of `file` syncs what went through this handle too.)
    await cache?.then((handle) => handle.close(), () => {});
  }
}

/** `file` opened again, through the page cache: the same inode, whatever its path has become. */
async function reopenCached(file: FileHandle): Promise<FileHandle> {
  return open(`/proc/self/fd/${file.fd}`, 'r+');
}

export interface DirectWriteOptions {
  /** More bytes than this throw `tooLong()` as soon as they arrive. */
  maxBytes: number;
  tooLong: () => Error;
  hasher: HashWorker;
}

/**
 * Writes a single upload's `body` from the start of the new `direct.file`, hashing copies of
 * its slabs; answers its size and sha256 (hex). Nothing is synced: the caller fsyncs the file
 * (which writes its size and extents). On failure nothing is left writing to the file.
 */
export async function writeDirect(direct: DirectFile, body: AsyncIterable<Uint8Array>, options: DirectWriteOptions): Promise<{ size: number; hex: string }> {
  const digest = new LentDigest(options.hasher);
  try {
    const size = await writeSlabs(direct, body, {
      position: 0, maxBytes: options.maxBytes, tooLong: options.tooLong, tail: 'pad',
      sent: (bytes) => digest.update(bytes),
    });
    // Cut back to the bytes that came: the last block was padded.
    await direct.file.truncate(size);
    return { size, hex: await digest.hex(size) };
  } catch (err) {
    await digest.drop();
    throw err;
  }
}

export interface DirectPartOptions {
  /** Where the part starts in the session file: a multiple of the file's block. */
  position: number;
  /** More bytes than this throw `tooLong()` as soon as they arrive. */
  maxBytes: number;
  tooLong: () => Error;
  checksums: Checksums;
  /** Runs before each write, and stops the writing by throwing. */
  mayWrite: () => void;
  /**
   * The same file opened through the page cache, for the bytes past the session's last whole
   * block; null for a part that ends on a block, where a body cut short writes nothing past
   * its last whole block (the part is refused for its size anyway).
   */
  cached: FileHandle | null;
}

/**
 * Writes a session part's `body` into the existing `direct.file` at `position`, with the
 * checksums asked for. Nothing is synced: the caller datasyncs the file. On failure nothing
 * is left writing to the file.
 */
export async function writeDirectPart(direct: DirectFile, body: AsyncIterable<Uint8Array>, options: DirectPartOptions): Promise<WrittenBytes> {
  const sums = checksummer(options.checksums);
  const size = await writeSlabs(direct, body, {
    position: options.position, maxBytes: options.maxBytes, tooLong: options.tooLong, mayWrite: options.mayWrite,
    observe: sums.update, tail: async (bytes, at) => { if (options.cached) await writeAll(options.cached, [bytes], at); },
  });
  return sums.result(size);
}

/**
 * A sha256 of bytes in order, hashed on the hash worker from copies lent to it (up to
 * `SLABS_PER_UPLOAD` at once); in place if the worker cannot start.
 */
class LentDigest {
  private readonly key = randomUUID();
  private at = 0;
  private local: Hash | null = null;
  /** Copies the worker has, oldest first, and copies back from it. */
  private readonly lent: Promise<void>[] = [];
  private readonly spare: ArrayBuffer[] = [];
  /** The bytes lent are gone once hashed: the digest must outlast any pause of the upload. */
  private readonly release: () => void;

  constructor(private readonly hasher: HashWorker) {
    this.release = hasher.hold();
  }

  /** Copies `bytes` (at most a slab) and lends the copy to the worker; waits while as many as a slab set are lent. */
  async update(bytes: Uint8Array): Promise<void> {
    const start = this.at;
    this.at += bytes.length;
    if (this.local) {
      this.local.update(bytes);
      return;
    }
    if (this.lent.length >= SLABS_PER_UPLOAD) await this.lent.shift();
    const copy = this.spare.pop() ?? new ArrayBuffer(SLAB_BYTES);
    new Uint8Array(copy).set(bytes);
    let hashed: Promise<ArrayBuffer>;
    try {
      hashed = this.hasher.bytes(this.key, start, copy, 0, bytes.length);
    } catch (err) {
      if (start !== 0) throw err;
      // (No worker could start, and nothing was lent: all of it is hashed here.)
      this.local = createHash('sha256').update(bytes);
      return;
    }
    const back = hashed.then((buffer) => { this.spare.push(buffer); });
    back.catch(() => {}); // (seen when its turn comes)
    this.lent.push(back);
  }

  async hex(size: number): Promise<string> {
    try {
      await Promise.all(this.lent);
      if (this.at !== size) throw new Error(`hashed ${this.at} bytes of ${size}`);
      if (this.local) return this.local.digest('hex');
      return await this.hasher.digest(this.key, size);
    } finally {
      this.release();
    }
  }

  async drop(): Promise<void> {
    await Promise.allSettled(this.lent);
    this.release();
    if (!this.local) this.hasher.drop(this.key);
  }
}
