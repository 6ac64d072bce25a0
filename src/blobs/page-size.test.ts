import { describe, expect, it } from 'vitest';
import { DIRECT_BLOCK } from './direct-writer.js';
import { systemPageSize } from './page-size.js';

describe('the page direct writes start and end on', () => {
  /** An auxiliary vector of (type, value) words, ended by AT_NULL. */
  function auxv(entries: Array<[number, number]>, word: 4 | 8, little: boolean): Buffer {
    const out = Buffer.alloc((entries.length + 1) * 2 * word);
    entries.forEach(([type, value], i) => {
      for (const [at, n] of [[i * 2 * word, type], [(i * 2 + 1) * word, value]] as const) {
        if (word === 4) little ? out.writeUInt32LE(n, at) : out.writeUInt32BE(n, at);
        else little ? out.writeBigUInt64LE(BigInt(n), at) : out.writeBigUInt64BE(BigInt(n), at);
      }
    });
    return out;
  }

  it('is the kernel page where pages are larger than 4 KiB', () => {
    // AT_HWCAP (16), AT_PAGESZ (6), AT_CLKTCK (17), as a kernel lists them.
    const vector = (page: number) => [[16, 0xbfebfbff], [6, page], [17, 100]] as Array<[number, number]>;
    expect(systemPageSize(() => auxv(vector(65536), 8, true), 'arm64', true)).toBe(65536);
    expect(systemPageSize(() => auxv(vector(16384), 8, true), 'arm64', true)).toBe(16384);
    expect(systemPageSize(() => auxv(vector(65536), 8, false), 'ppc64', false)).toBe(65536);
    expect(systemPageSize(() => auxv(vector(4096), 4, true), 'arm', true)).toBe(4096);
    // This machine's own.
    expect(DIRECT_BLOCK).toBe(Math.max(4096, systemPageSize()));
    if (process.platform === 'linux' && process.arch === 'x64') expect(systemPageSize()).toBe(4096);
  });

  it('assumes the largest page in common use where the kernel does not say', () => {
    const unreadable = () => { throw Object.assign(new Error('no /proc'), { code: 'ENOENT' }); };
    expect(systemPageSize(unreadable, 'arm64')).toBe(65536);
    expect(systemPageSize(unreadable, 'x64')).toBe(4096);
    expect(systemPageSize(() => auxv([[16, 1]], 8, true), 'arm64', true)).toBe(65536);
    // Nothing past AT_NULL is read.
    expect(systemPageSize(() => Buffer.concat([auxv([[16, 1]], 8, true), auxv([[6, 16384]], 8, true)]), 'arm64', true)).toBe(65536);
    // A value that is no page size is not taken for one.
    expect(systemPageSize(() => auxv([[6, 12345]], 8, true), 'arm64', true)).toBe(65536);
    expect(systemPageSize(() => Buffer.alloc(5), 'arm64', true)).toBe(65536);
  });
});
