import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PRIMER = fileURLToPath(new URL('../../dist/cli/heap-primer.js', import.meta.url));

/**
 * A fresh process that allocates 4 MiB with malloc (a Buffer outside Node's pool) and reports
 * how much anonymous memory was mapped for it, and whether the heap grew. Below glibc's
 * thresholds the buffer gets a mapping of its own (given back to the kernel when it is freed;
 * the kernel may merge it with a neighbour, so sizes are summed); once they are raised it comes
 * from the heap. With `primed`, the primer runs first and a collection frees it, as one does
 * early in the server.
 */
function whereFourMiBGoes(primed: boolean): { anonymousMiB: number; heapGrew: boolean } {
  const script = `
    import { readFileSync } from 'node:fs';
    const mapped = () => {
      let anonymous = 0;
      let heap = 0;
      for (const line of readFileSync('/proc/self/maps', 'utf8').split('\\n').filter(Boolean)) {
        const [range, , , , , path = ''] = line.split(/\\s+/);
        const [start, end] = range.split('-').map((hex) => parseInt(hex, 16));
        if (path === '') anonymous += end - start;
        if (path === '[heap]') heap += end - start;
      }
      return { anonymous, heap };
    };
    if (${primed}) {
      (await import(${JSON.stringify(PRIMER)})).primeHeapReuse();
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const before = mapped();
    const kept = Buffer.allocUnsafeSlow(4 * 1024 * 1024).fill(1);
    const after = mapped();
    console.log(JSON.stringify({ anonymousMiB: (after.anonymous - before.anonymous) / 1048576, heapGrew: after.heap > before.heap, kept: kept.length }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' }));
}

const glibc = process.platform === 'linux' && Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
if (!glibc) console.log('heap primer tests: SKIPPED because this is not Linux with glibc, whose malloc thresholds the primer raises');

describe.skipIf(!glibc)('the heap primer (glibc)', () => {
  it('without it, a 4 MiB buffer gets a mapping of its own, given back to the kernel when freed', () => {
    expect(whereFourMiBGoes(false).anonymousMiB).toBeGreaterThanOrEqual(4);
  });

  it('once it has been collected, the same buffer comes from the heap, whose freed top is kept for reuse', () => {
    const primed = whereFourMiBGoes(true);
    expect(primed.anonymousMiB).toBeLessThan(1);
    expect(primed.heapGrew).toBe(true);
  });
});
