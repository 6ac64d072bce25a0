/**
 * The kernel's memory page size, which Node does not expose: direct writes (direct-writer.ts)
 * start and end on it where it is larger than a disk block.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/** `AT_PAGESZ` in the kernel's auxiliary vector. */
const AT_PAGESZ = 6;
/** Architectures whose auxiliary vector has 32-bit words. */
const WORDS_32 = new Set(['arm', 'ia32', 'mips', 'mipsel', 'ppc']);

/**
 * The kernel's page size, read from the process's auxiliary vector (`/proc/self/auxv`). Where
 * it cannot be read: 4 KiB on x86-64, which has no other size, and 64 KiB, the largest in
 * common use, anywhere else.
 */
export function systemPageSize(auxv: () => Buffer = () => readFileSync('/proc/self/auxv'), arch: string = process.arch, little = endianness() === 'LE'): number {
  const fallback = arch === 'x64' ? 4096 : 65536;
  let bytes: Buffer;
  try {
    bytes = auxv();
  } catch {
    return fallback;
  }
  const word = WORDS_32.has(arch) ? 4 : 8;
  const read = (at: number) => word === 4
    ? (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at))
    : Number(little ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at));
  for (let at = 0; at + 2 * word <= bytes.length; at += 2 * word) {
    const type = read(at);
    if (type === 0) break;
    if (type === AT_PAGESZ) {
      const size = read(at + word);
      // A power of two from 4 KiB to 1 GiB, or the entry is not what it should be.
      return size >= 4096 && size <= 2 ** 30 && (size & (size - 1)) === 0 ? size : fallback;
    }
  }
  return fallback;
}
