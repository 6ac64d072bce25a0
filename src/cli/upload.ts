/**
 * Turning local paths into a version manifest: find the files, hash them locally, then
 * stream each one to the server with its sha256 so the server refuses anything that changed
 * in between. Files are read in chunks and never held in memory whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { FileEntry, ModelgateClient } from '../sdk/client.js';
import { CliError, usageError } from './cli-error.js';
import { Progress } from './progress.js';

const CHUNK = 1024 * 1024;

/** A file on disk and the path it will have inside the version. */
export interface LocalFile {
  /** Relative, forward slashes: the manifest path. */
  path: string;
  absolute: string;
  size: number;
}

/**
 * Expands the paths given on the command line: a file keeps its base name, a directory
 * contributes every file under it, named relative to that directory.
 */
export async function collectFiles(inputs: string[]): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  for (const input of inputs) {
    const absolute = resolve(input);
    const info = await stat(absolute).catch((err: NodeJS.ErrnoException) => {
      throw new CliError('FILE_NOT_FOUND', `cannot read ${input}: ${err.code ?? err.message}`);
    });
    if (info.isDirectory()) {
      const before = files.length;
      await walk(absolute, '', files, new Set([await realpath(absolute)]));
      if (files.length === before) throw usageError(`directory ${input} contains no files`);
    } else if (info.isFile()) {
      files.push({ path: basename(absolute), absolute, size: info.size });
    } else {
      throw usageError(`${input} is neither a file nor a directory`);
    }
  }
  const seen = new Map<string, string>();
  for (const file of files) {
    const other = seen.get(file.path);
    if (other) throw usageError(`${other} and ${file.absolute} would both be stored as ${file.path}`);
    seen.set(file.path, file.absolute);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Depth-first walk; `ancestors` holds real paths so a symlink loop is not followed forever. */
async function walk(dir: string, prefix: string, into: LocalFile[], ancestors: Set<string>): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const absolute = join(dir, entry.name);
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    // stat follows symlinks, so a linked file is uploaded with its content, as a user expects.
    const info = await stat(absolute).catch(() => null);
    if (!info) throw new CliError('FILE_NOT_FOUND', `cannot read ${absolute} (a dangling symlink?)`);
    if (info.isDirectory()) {
      const real = await realpath(absolute);
      if (ancestors.has(real)) continue;
      await walk(absolute, path, into, new Set([...ancestors, real]));
    } else if (info.isFile()) {
      into.push({ path, absolute, size: info.size });
    }
    // Sockets, FIFOs and devices are not model files; they are skipped.
  }
}

/** The sha256 of a file, read as a stream. Returns the bytes actually read as its size. */
export async function hashFile(absolute: string, onBytes: (n: number) => void = () => {}): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(absolute, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    onBytes(chunk.length);
  }
  return { hex: hash.digest('hex'), size };
}

/**
 * Hashes every file, then uploads each with its declared sha256, and returns the manifest.
 * Hashing first means an unreadable file fails the command before any upload starts.
 */
export async function uploadFiles(client: ModelgateClient, files: LocalFile[]): Promise<FileEntry[]> {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const hashing = new Progress('hashing', total);
  const hashed: { file: LocalFile; hex: string; size: number }[] = [];
  for (const file of files) {
    hashing.setLabel(file.path);
    hashed.push({ file, ...(await hashFile(file.absolute, (n) => hashing.advance(n))) });
  }
  hashing.finish();

  const uploading = new Progress('uploading', hashed.reduce((sum, h) => sum + h.size, 0));
  const manifest: FileEntry[] = [];
  for (const { file, hex, size } of hashed) {
    uploading.setLabel(file.path);
    const blob = size > RESUMABLE_ABOVE
      ? await uploadInParts(client, file, hex, size, uploading)
      : await uploadWhole(client, file, hex, uploading);
    if (blob.size !== size) {
      // The server checked the digest; a size that differs too means the file changed under us.
      throw new CliError('SIZE_MISMATCH', `${file.path} was ${size} bytes when hashed but ${blob.size} when uploaded`);
    }
    manifest.push({ path: file.path, digest: blob.digest, size: blob.size });
  }
  uploading.finish();
  return manifest;
}

/** Files above this go up as resumable sessions of parts, several at a time. */
const RESUMABLE_ABOVE = 16 * 1024 * 1024;
const PARALLEL_PARTS = 4;

async function uploadWhole(client: ModelgateClient, file: LocalFile, hex: string, progress: Progress) {
  let reported = 0;
  return client.uploadBlob(createReadStream(file.absolute, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>, {
    sha256: hex,
    onProgress: (sent) => {
      progress.advance(sent - reported);
      reported = sent;
    },
  });
}

/** Parts the server already holds (from an interrupted run with the same bytes) are not sent again. */
async function uploadInParts(client: ModelgateClient, file: LocalFile, hex: string, size: number, progress: Progress) {
  const handle = await open(file.absolute, 'r');
  try {
    return await client.uploadResumable({
      size,
      sha256: hex,
      parallel: PARALLEL_PARTS,
      readPart: async (start, end, into) => {
        const buffer = into.subarray(0, end - start);
        let offset = 0;
        while (offset < buffer.length) {
          const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, start + offset);
          if (bytesRead === 0) throw new CliError('SIZE_MISMATCH', `${file.path} shrank while it was being uploaded`);
          offset += bytesRead;
        }
        return buffer;
      },
      onProgress: (bytes, resumed) => (resumed ? progress.skip(bytes) : progress.advance(bytes)),
    });
  } finally {
    await handle.close();
  }
}
