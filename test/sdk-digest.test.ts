/** The SDK's digest of a download as it arrives: the same sha256 however the bytes come, with the worker thread kept in step. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OFF_THREAD_MIN_BYTES, streamDigest } from '../src/sdk/digest.js';

const MiB = 1 << 20;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Feeds `bytes` in `chunk`-byte pieces, waiting whenever the digest says it is behind. */
async function digestOf(bytes: Uint8Array, chunk: number, expected = bytes.length): Promise<{ hex: string; waits: number }> {
  const digest = streamDigest(expected);
  let waits = 0;
  for (let at = 0; at < bytes.length; at += chunk) {
    const behind = digest.update(bytes.subarray(at, at + chunk));
    if (behind) {
      waits++;
      await behind;
    }
  }
  return { hex: await digest.digest(), waits };
}

describe('streamDigest', () => {
  const large = randomBytes(OFF_THREAD_MIN_BYTES + 3 * MiB + 11);

  it('is the sha256 of the bytes however they are cut, on the worker thread or in place', async () => {
    for (const chunk of [1, 1000, 64 * 1024, MiB, 3 * MiB + 5, large.length]) {
      expect((await digestOf(large, chunk)).hex).toBe(sha256(large));
    }
    const small = randomBytes(5000);
    expect((await digestOf(small, 7)).hex).toBe(sha256(small));
    expect((await digestOf(new Uint8Array(0), 1, 0)).hex).toBe(sha256(new Uint8Array(0)));
    expect((await digestOf(small, 100, Number.NaN)).hex).toBe(sha256(small));
  });

  it('makes a fast writer wait rather than queue everything for the worker', async () => {
    const { hex, waits } = await digestOf(large, 4 * MiB);
    expect(hex).toBe(sha256(large));
    expect(waits).toBeGreaterThan(0);
  });

  it('lets go of a writer waiting on a stream that is abandoned, rather than hang it', async () => {
    const digest = streamDigest(large.length);
    const behind = digest.update(large); // far more than the slabs it may have out
    expect(behind).toBeInstanceOf(Promise);
    digest.abandon();
    await expect(behind).rejects.toThrow('abandoned');
  });

  it('keeps streams hashed at the same time apart, and one abandoned half way harms none', async () => {
    const others = [randomBytes(OFF_THREAD_MIN_BYTES + 1), randomBytes(OFF_THREAD_MIN_BYTES + 2 * MiB)];
    const dropped = streamDigest(large.length);
    dropped.update(large.subarray(0, 5 * MiB));
    const digests = await Promise.all([digestOf(large, 64 * 1024), ...others.map((bytes) => digestOf(bytes, 100_000))]);
    dropped.abandon();
    expect(digests.map((d) => d.hex)).toEqual([large, ...others].map(sha256));
    expect((await digestOf(large, MiB)).hex).toBe(sha256(large));
  });
});
