/**
 * Hashing and writing a byte stream to a file handle at disk speed: chunks are gathered into
 * 1 MiB writes (one writev each: they are not copied into one buffer first) and the next
 * write's bytes are hashed while the previous write is in flight.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

const WRITE_SIZE = 1 << 20;

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

/**
 * Writes `body` at `position` onwards, computing the checksums asked for; throws `tooLong()` as
 * soon as more than `maxBytes` arrive. `mayWrite` runs before each write and stops the writing
 * by throwing. Nothing is synced: the caller decides when the bytes must be durable.
 */
export async function writeChecked(file: FileHandle, body: AsyncIterable<Uint8Array>, position: number, maxBytes: number, tooLong: () => Error, checksums: Checksums, mayWrite?: () => void): Promise<WrittenBytes> {
  const hash = checksums.sha256 ? createHash('sha256') : null;
  let crc = 0;
  let size = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  let at = position;

  const flush = async () => {
    const buffers = pending;
    const length = pendingBytes;
    pending = [];
    pendingBytes = 0;
    await inFlight;
    mayWrite?.();
    const offset = at;
    at += length;
    inFlight = writeAll(file, buffers, offset);
    // Observed at the next flush; this only keeps a failed write from counting as unhandled.
    inFlight.catch(() => {});
  };

  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      await inFlight.catch(() => {});
      throw tooLong();
    }
    hash?.update(chunk);
    if (checksums.crc32) crc = crc32(chunk, crc);
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= WRITE_SIZE) await flush();
  }
  if (pendingBytes > 0) await flush();
  await inFlight;
  return { size, hash, crc32: checksums.crc32 ? (crc >>> 0).toString(16).padStart(8, '0') : null };
}

/** `writeChecked` with the sha256 alone, as blobs are stored under it. */
export async function writeHashed(file: FileHandle, body: AsyncIterable<Uint8Array>, position: number, maxBytes: number, tooLong: () => Error): Promise<{ size: number; hash: Hash }> {
  const written = await writeChecked(file, body, position, maxBytes, tooLong, { sha256: true, crc32: false });
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
