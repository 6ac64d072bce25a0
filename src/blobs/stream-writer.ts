/**
 * Hashing and writing a byte stream to a file handle at disk speed: chunks are gathered into
 * 1 MiB writes (one writev each: they are not copied into one buffer first), and up to four
 * of them are under way at once while the next ones arrive and are hashed, so one slow write
 * does not hold up the receiving. For a file that will be fsynced, the bytes are written back
 * to disk as they come (a datasync every 32 MiB, or every half of a smaller known size such
 * as a session part's, one at a time, beside the writes), so the final fsync has little left
 * to do: the kernel would otherwise hold up to a tenth of memory dirty and write all of it
 * during that fsync, after the last byte arrived.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from './crc32.js';

const WRITE_SIZE = 1 << 20;
/** With one write at a time, a 1 GiB upload spent 0.2-1.1 s of its 2-3 s waiting on the last one. */
const WRITES_IN_FLIGHT = 4;
const WRITE_BACK_BYTES = 32 << 20;
/**
 * A 16 MiB session part used to wait 33-37 ms for its whole 16 MiB in its closing datasync;
 * written back from its eighth MiB it waited 17. A part of less than twice this is not
 * written back: its closing datasync is short anyway, and a second one would cost more.
 */
const MIN_WRITE_BACK_BYTES = 4 << 20;

/** Which checksums to compute as the bytes go by: a sha256 pass costs about 3x a CRC-32 one. */
export interface Checksums {
  sha256: boolean;
  crc32: boolean;
}

export interface WrittenBytes {
  size: number;
  /** Present when asked for. */
  hash: Hash | null;
  /** 8 hex digits, when asked for. */
  crc32: string | null;
}

export interface WriteOptions {
  /** Where in the file the bytes go. */
  position: number;
  /** More bytes than this throw `tooLong()` as soon as they arrive. */
  maxBytes: number;
  tooLong: () => Error;
  checksums: Checksums;
  /** Runs before each write, and stops the writing by throwing. */
  mayWrite?: () => void;
  /** The caller will fsync the file: write the bytes back as they come (a failed write-back throws). */
  durable: boolean;
  /**
   * How many bytes the body has, when that is known exactly (a part's size, not a limit): a
   * durable write is then written back every half of it, if that is less than 32 MiB, and
   * never right before its end, where the caller's fsync follows.
   */
  expectedBytes?: number;
  /** Sees each chunk as it arrives, before it is written. */
  observe?: (chunk: Uint8Array) => void;
  /**
   * Called as the bytes before `end` are all written, in order, after each write; it may still
   * be called for writes that ended after the call failed.
   */
  onWritten?: (end: number) => void;
}

/**
 * Writes `body` into `file`, computing the checksums asked for. Nothing is synced here, even when
 * `durable` writes back on the way: the caller decides when the bytes must be durable.
 */
export async function writeChecked(file: FileHandle, body: AsyncIterable<Uint8Array>, options: WriteOptions): Promise<WrittenBytes> {
  const { maxBytes, expectedBytes, tooLong, mayWrite, observe, onWritten } = options;
  const sums = checksummer(options.checksums);
  let size = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  // The writes under way, oldest first, and all of them done in order (what a write-back waits for).
  const writing: Promise<void>[] = [];
  let written: Promise<void> = Promise.resolve();
  let at = options.position;
  // One write-back at a time; a failed one fails the whole write (after a failed fsync Linux
  // may count the pages clean, so a later fsync would not report the loss).
  let writingBack: Promise<void> | null = null;
  let writeBackFailure: unknown = null;
  let notWrittenBack = 0;
  // A failed write stops the writing at the next flush, not only once it is the oldest.
  let writeFailure: unknown = null;
  // Every half of a part, say, so its closing fsync waits for half of it at most.
  const half = expectedBytes === undefined ? WRITE_BACK_BYTES : Math.floor(expectedBytes / 2);
  const writeBackBytes = half < MIN_WRITE_BACK_BYTES ? Number.POSITIVE_INFINITY : Math.min(WRITE_BACK_BYTES, half);

  /** `last`: the caller's fsync follows, and writes back what is left. */
  const flush = async (last: boolean) => {
    const buffers = pending;
    const length = pendingBytes;
    pending = [];
    pendingBytes = 0;
    if (writing.length >= WRITES_IN_FLIGHT) await writing.shift();
    if (writeFailure !== null) throw writeFailure;
    if (writeBackFailure !== null) throw writeBackFailure;
    mayWrite?.();
    const offset = at;
    const end = (at += length);
    const write = writeAll(file, buffers, offset);
    writing.push(write);
    written = written.then(() => write);
    write.catch((err: unknown) => { writeFailure ??= err; });
    // (Observed at the end, or through `writing` and `writeFailure` before.)
    written.catch(() => {});
    if (onWritten) {
      // (A callback that throws fails the write, rather than go unhandled.)
      written.then(() => {
        try {
          onWritten(end);
        } catch (err) {
          writeFailure ??= err;
        }
      }, () => {});
    }
    notWrittenBack += length;
    if (options.durable && !last && notWrittenBack >= writeBackBytes && writingBack === null) {
      notWrittenBack = 0;
      writingBack = written.then(() => file.datasync()).then(
        () => { writingBack = null; },
        (err: unknown) => { writeBackFailure ??= err; writingBack = null; },
      );
    }
  };

  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > maxBytes) throw tooLong();
      observe?.(chunk);
      sums.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_SIZE) await flush(size === expectedBytes);
    }
    if (pendingBytes > 0) await flush(true);
    await written;
    await writingBack;
    if (writeFailure !== null) throw writeFailure;
    if (writeBackFailure !== null) throw writeBackFailure;
  } catch (err) {
    // Whatever stopped it (the body broke off, too many bytes, a failed write, the last ones
    // included), nothing is left writing to the file when the caller closes it.
    await Promise.allSettled(writing);
    await writingBack;
    throw err;
  }
  return sums.result(size);
}

/** The checksums asked for, of the bytes `update` sees, in order. */
export function checksummer(checksums: Checksums): { update: (chunk: Uint8Array) => void; result: (size: number) => WrittenBytes } {
  const hash = checksums.sha256 ? createHash('sha256') : null;
  let crc = 0;
  return {
    update: (chunk) => {
      hash?.update(chunk);
      if (checksums.crc32) crc = crc32(chunk, crc);
    },
    result: (size) => ({ size, hash, crc32: checksums.crc32 ? (crc >>> 0).toString(16).padStart(8, '0') : null }),
  };
}

/** `writeChecked` from the start of the file, with the sha256 alone, as blobs are stored under it. */
export async function writeHashed(file: FileHandle, body: AsyncIterable<Uint8Array>, options: { maxBytes: number; tooLong: () => Error; durable: boolean }): Promise<{ size: number; hash: Hash }> {
  const written = await writeChecked(file, body, { ...options, position: 0, checksums: { sha256: true, crc32: false } });
  return { size: written.size, hash: written.hash! };
}

/** Writes `buffers` at `position`, one after another, going on after short writes. */
export async function writeAll(file: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest, position);
    position += bytesWritten;
    // A short write: drop what went, and the written head of the buffer it stopped in.
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
