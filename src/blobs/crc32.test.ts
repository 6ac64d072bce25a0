// Upload parts are checked by CRC-32 on both sides: the native fold must be the one in use
// wherever it loads (it is what makes a session's checksums cheap), and it must agree with
// node:zlib's to the bit, whole or fed in pieces, since the server compares what the client
// computed either way.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { partChecksum } from '../sdk/transport.js';
import { crc32, crc32Implementation } from './crc32.js';

describe('CRC-32 of upload parts', () => {
  it('uses the native implementation wherever it loads', () => {
    let loads = true;
    try {
      createRequire(import.meta.url)('@node-rs/crc32');
    } catch {
      loads = false; // an install without optional dependencies, or a platform without a binary
    }
    if (!loads) console.warn('@node-rs/crc32 does not load here: parts are checked with node:zlib\'s CRC-32');
    expect(crc32Implementation()).toBe(loads ? '@node-rs/crc32' : 'node:zlib');
  });

  it('agrees with node:zlib whole, in pieces, and on empty input', () => {
    for (const size of [0, 1, 63, 64, 65, 4095, 1 << 16, (1 << 20) + 7]) {
      const bytes = new Uint8Array(randomBytes(size));
      expect(crc32(bytes) >>> 0).toBe(zlibCrc32(bytes));
      let running = 0;
      for (let at = 0; at < size; at += 1000) running = crc32(bytes.subarray(at, at + 1000), running);
      expect(running >>> 0).toBe(zlibCrc32(bytes));
    }
    expect(crc32(new Uint8Array(0), 12345)).toBe(12345);
  });

  it('is what the SDK sends for a part: 8 hex digits of the same value', async () => {
    const bytes = randomBytes(3 << 20);
    expect(await partChecksum(bytes)).toEqual({ crc32: zlibCrc32(bytes).toString(16).padStart(8, '0') });
  });
});
