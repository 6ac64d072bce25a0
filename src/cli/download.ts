/**
 * Downloading a resolved version into a directory. Each file streams to a temporary name
 * while it is hashed, and is renamed into place only if it matches its digest, so a reader
 * of the output directory never sees a partial or corrupt file under the real name.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiError, type FileEntry, type ModelgateClient, type Resolved } from '../sdk/client.js';
import { CliError } from './cli-error.js';
import { Progress } from './progress.js';
import { hashFile } from './upload.js';

/**
 * Where a manifest path lands inside `outDir`, or an error if it would land outside it.
 * The server already refuses such paths; a client still must not trust what it is sent.
 */
export function safeTarget(outDir: string, path: string): string {
  const root = resolve(outDir);
  const segments = path.split('/');
  const bad = path.includes('\\') || path.includes('\0') || isAbsolute(path) || /^[A-Za-z]:/.test(path) ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  const target = resolve(root, ...segments);
  const rel = relative(root, target);
  if (bad || rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
    throw new CliError('UNSAFE_PATH', `refusing to write ${JSON.stringify(path)}: it would escape ${root}`);
  }
  return target;
}

/** Downloads every file of a resolved version; files already present with the right digest are kept. */
export async function downloadVersion(client: ModelgateClient, resolved: Resolved, outDir: string): Promise<{ written: number; kept: number }> {
  // Check every path before writing anything, so a bad manifest leaves no partial download.
  const targets = resolved.files.map((file) => ({ file, target: safeTarget(outDir, file.path) }));
  const progress = new Progress('downloading', resolved.files.reduce((sum, f) => sum + f.size, 0));
  let written = 0;
  let kept = 0;
  for (const { file, target } of targets) {
    progress.setLabel(file.path);
    if (await matches(target, file.digest, file.size)) {
      progress.advance(file.size);
      kept++;
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    await fetchTo(client, file, target, (n) => progress.advance(n));
    written++;
  }
  progress.finish();
  return { written, kept };
}

async function matches(target: string, digest: string, size: number): Promise<boolean> {
  const info = await stat(target).catch(() => null);
  if (!info?.isFile() || info.size !== size) return false;
  return `sha256:${(await hashFile(target)).hex}` === digest;
}

async function fetchTo(client: ModelgateClient, file: FileEntry, target: string, onBytes: (n: number) => void): Promise<void> {
  // The SDK hashes the bytes as they arrive and throws DIGEST_MISMATCH after the last one.
  const { body } = await client.readVerifiedBlob(file.digest);
  const temp = `${target}.modelgate-partial`;
  let size = 0;
  try {
    // pipeline handles backpressure and tears every stream down if any of them fails.
    await pipeline(body, async function* (source: AsyncIterable<Uint8Array>) {
      for await (const chunk of source) {
        size += chunk.length;
        onBytes(chunk.length);
        yield chunk;
      }
    }, createWriteStream(temp, { mode: 0o644 }));
    if (size !== file.size) {
      throw new CliError('DIGEST_MISMATCH', `${file.path}: received ${size} bytes, expected ${file.size}`);
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    if (err instanceof ApiError && err.status === 0 && err.code === 'DIGEST_MISMATCH') throw new CliError('DIGEST_MISMATCH', `${file.path}: ${err.message}`);
    throw err;
  }
}
