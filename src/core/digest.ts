/** Hashing streams the way blobs are named. */
import { createHash } from 'node:crypto';

/** sha256 of everything a stream yields, as `sha256:<hex>`, with its length. */
export async function digestOf(stream: AsyncIterable<Uint8Array>): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
