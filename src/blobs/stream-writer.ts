/**
 * Hashing and writing a byte stream to a file handle at disk speed: chunks are gathered into
 * 1 MiB writes (one writev each: they are not copied into one buffer first) and the next
 * write's bytes are hashed while the previous write is in flight. For a file that will be
 * fsynced, the bytes are written back to disk as they come (a datasync every 32 MiB, one at a
 * time, beside the writes), so the final fsync has little left to do: the kernel would
 * otherwise hold up to a tenth of memory dirty and write all of it during that fsync, after the
 * last byte arrived.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

const WRITE_SIZE = 1 << 20;
const WRITE_BACK_BYTES = 32 << 20;

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
}

/**
 * Writes `body` into `file`, computing the checksums asked for. Nothing is synced here, even when
 * `durable` writes back on the way: the caller decides when the bytes must be durable.
 */
export async function writeChecked(file: FileHandle, body: AsyncIterable<Uint8Array>, options: WriteOptions): Promise<WrittenBytes> {
  const { maxBytes, tooLong, checksums, mayWrite } = options;
  const hash = checksums.sha256 ? createHash('sha256') : null;
  let crc = 0;
  let size = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  let at = options.position;
  // One write-back at a time; a failed one fails the whole write (after a failed fsync Linux
  // may count the pages clean, so a later fsync would not report the loss).
  let writingBack: Promise<void> | null = null;
  let writeBackFailure: unknown = null;
  let notWrittenBack = 0;

  const flush = async () => {
    const buffers = pending;
    const length = pendingBytes;
    pending = [];
    pendingBytes = 0;
    await inFlight;
    if (writeBackFailure !== null) throw writeBackFailure;
    mayWrite?.();
    const offset = at;
    at += length;
    inFlight = writeAll(file, buffers, offset);
    // Observed at the next flush; this only keeps a failed write from counting as unhandled.
    inFlight.catch(() => {});
    notWrittenBack += length;
    if (options.durable && notWrittenBack >= WRITE_BACK_BYTES && writingBack === null) {
      notWrittenBack = 0;
      writingBack = inFlight.then(() => file.datasync()).then(
        () => { writingBack = null; },
        (err: unknown) => { writeBackFailure ??= err; writingBack = null; },
      );
    }
  };

  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > maxBytes) throw tooLong();
      hash?.update(chunk);
      if (checksums.crc32) crc = crc32(chunk, crc);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_SIZE) await flush();
    }
    if (pendingBytes > 0) await flush();
  } catch (err) {
    // Whatever stopped it (the body broke off, too many bytes, a failed write), nothing is
    // left writing to the file when the caller closes it.
    await inFlight.catch(() => {});
    await writingBack;
    throw err;
  }
  await inFlight;
  await writingBack;
  if (writeBackFailure !== null) throw writeBackFailure;
  return { size, hash, crc32: checksums.crc32 ? (crc >>> 0).toString(16).padStart(8, '0') : null };
}

/** `writeChecked` from the start of the file, with the sha256 alone, as blobs are stored under it. */
export async function writeHashed(file: FileHandle, body: AsyncIterable<Uint8Array>, options: { maxBytes: number; tooLong: () => Error; durable: boolean }): Promise<{ size: number; hash: Hash }> {
  const written = await writeChecked(file, body, { ...options, position: 0, checksums: { sha256: true, crc32: false } });
  return { size: written.size, hash: written.hash! };
}

async function writeAll(file: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
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
