/**
 * Hashing and writing a byte stream to a file handle at disk speed: chunks are gathered into
 * 1 MiB writes (one writev each: they are not copied into one buffer first) and the next
 * write's bytes are hashed while the previous write is in flight.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

const WRITE_SIZE = 1 << 20;

export interface WrittenBytes {
  size: number;
  hash: Hash;
}

/**
 * Writes `body` at `position` onwards, hashing it; throws `tooLong()` as soon as more than
 * `maxBytes` arrive. `mayWrite` runs before each write and stops the writing by throwing.
 * Nothing is synced: the caller decides when the bytes must be durable.
 */
export async function writeHashed(file: FileHandle, body: AsyncIterable<Uint8Array>, position: number, maxBytes: number, tooLong: () => Error, mayWrite?: () => void): Promise<WrittenBytes> {
  const hash = createHash('sha256');
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
    hash.update(chunk);
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= WRITE_SIZE) await flush();
  }
  if (pendingBytes > 0) await flush();
  await inFlight;
  return { size, hash };
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
