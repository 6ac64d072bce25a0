/** Hashing the way blobs, tokens and the audit chain are named. */
import { createHash, hash } from 'node:crypto';

/** sha256 of a string, as hex; one-shot `crypto.hash` (Node 20.12+) is a third of createHash's cost. */
export const sha256Hex: (text: string) => string = typeof hash === 'function'
  ? (text) => hash('sha256', text, 'hex')
  : (text) => createHash('sha256').update(text).digest('hex');

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
