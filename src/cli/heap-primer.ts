/**
 * Keeping freed memory for reuse. Large streams (an upload's body, a file being hashed) make
 * Node allocate a buffer per chunk with malloc and free the lot at each garbage collection.
 * glibc's malloc gives the top of its heap back to the kernel as soon as more than 128 KiB of
 * it is free there (its trim threshold), so each collection returned the chunks' pages and the
 * next chunks faulted them in again, one zeroed page at a time. On this project's virtual
 * machines a page fault is expensive: a server's first 1 GiB upload spent 2,585 `brk` calls and
 * 1.3 s of system time on it, against 0.4 s for the same upload later, once glibc had raised
 * its thresholds by itself (bench/README.md, item 63).
 *
 * glibc raises them when it frees a block it had mapped on its own (one above the current mmap
 * threshold, up to 32 MiB): the mmap threshold becomes that block's size and the trim
 * threshold twice that. So the process allocates one such block early and drops it. A zeroed
 * `ArrayBuffer` is allocated with calloc, which takes fresh (already zero) pages from the
 * kernel without touching them, so this costs two system calls and no memory; the block is
 * freed by the next garbage collection, long before the first request is served.
 *
 * Elsewhere (musl, macOS) this is an unused allocation and nothing else.
 */

/** Just under glibc's 32 MiB ceiling for the dynamic threshold, with room for its header. */
const PRIMER_BYTES = 31 * 1024 * 1024;

export function primeHeapReuse(): void {
  // Allocated and dropped at once: only its freeing matters.
  void new ArrayBuffer(PRIMER_BYTES);
}
