/**
 * SHA-256 of files, computed on a worker thread so the event loop keeps serving requests (and
 * the second core does the hashing) while a large upload is hashed. A digest can be built up
 * in steps under a key: `feed` hashes the next range of a file, `undo` takes back the last
 * range fed, `finish` hashes the rest of a file and returns the digest; `bytes` hashes bytes
 * lent from memory instead, and `digest` returns what they make. The worker checks
 * that each step starts where the last one ended, so a state it lost (it restarts after a
 * crash or a quiet minute) is refused rather than taken for an empty one.
 */
import { Worker } from 'node:worker_threads';

/** Plain JavaScript, evaluated by the worker: the same source runs from src (tests) and dist. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, read, fstatSync, closeSync, constants } = require('node:fs');
const buffer = Buffer.allocUnsafe(1 << 20);
const states = new Map(); // key -> { hash, at, before }

function hashRange(hash, path, start, end) {
  const fd = openSync(path, 'r');
  try {
    let at = start;
    while (at < end) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - at), at);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      at += n;
    }
    return at;
  } finally {
    closeSync(fd);
  }
}

// Direct reads (O_DIRECT): aligned offsets and lengths, into page-aligned memory (a
// WebAssembly.Memory starts on a page: see direct-writer.ts); READS_AHEAD of them in flight
// on libuv's threads while the worker hashes the oldest, so the disk and the hashing overlap.
const BLOCK = 4096;
const READ_BYTES = 2 << 20;
const READS_AHEAD = 3;
let slots; // READS_AHEAD views, once made; null where direct reads cannot be made here
let slotsFree = Promise.resolve(); // one direct hashing at a time uses them

function alignedSlots() {
  try {
    const pages = (READS_AHEAD * READ_BYTES) / 65536;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
    return Array.from({ length: READS_AHEAD }, (_, i) => new Uint8Array(memory, i * READ_BYTES, READ_BYTES));
  } catch {
    return null;
  }
}

function readInto(fd, view, length, position) {
  return new Promise((resolve, reject) => read(fd, view, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** hashRange with direct reads; through the cache where the file or the memory takes none. */
function hashRangeDirect(hash, path, start, end) {
  const run = slotsFree.then(async () => {
    let fd;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT);
    } catch (err) {
      if (err.code === 'EINVAL') return hashRange(hash, path, start, end);
      throw err;
    }
    let at = start;
    const reads = [];
    try {
      const stop = Math.min(end, fstatSync(fd).size);
      if (at >= stop) return at;
      let next = at - (at % BLOCK);
      if (slots === undefined) slots = alignedSlots();
      if (!slots) return hashRange(hash, path, at, end);
      let slot = 0;
      const issue = () => {
        if (next >= stop) return;
        const position = next;
        const length = Math.min(READ_BYTES, Math.ceil(stop / BLOCK) * BLOCK - position);
        const view = slots[slot];
        slot = (slot + 1) % READS_AHEAD;
        next += length;
        const reading = readInto(fd, view, length, position).then((n) => ({ view, position, length, n }));
        reading.catch(() => {}); // (seen when its turn comes: a worker must not die of it before)
        reads.push(reading);
      };
      for (let i = 0; i < READS_AHEAD; i++) issue();
      try {
        while (reads.length > 0) {
          const { view, position, length, n } = await reads.shift();
          const from = Math.max(at, position);
          const to = Math.min(stop, position + n);
          if (to > from) {
            hash.update(view.subarray(from - position, to - position));
            at = to;
          }
          if (n < length) break; // the file ended
          issue();
        }
      } catch (err) {
        if (err.code !== 'EINVAL') throw err;
        // A filesystem that takes the flag but not these reads: through the cache from now on.
        slots = null;
        await Promise.allSettled(reads);
        return hashRange(hash, path, at, end);
      }
      return at;
    } finally {
      // Nothing reads into the slots once this ends.
      await Promise.allSettled(reads);
      closeSync(fd);
    }
  });
  slotsFree = run.catch(() => {});
  return run;
}

function stateAt(key, start) {
  const state = states.get(key) ?? (start === 0 ? { hash: createHash('sha256'), at: 0, before: null } : null);
  if (!state || state.at !== start) throw Object.assign(new Error('no digest of ' + key + ' up to byte ' + start), { code: 'HASH_STATE_LOST' });
  states.set(key, state);
  return state;
}

const ops = {
  async feed({ key, path, start, end, direct }) {
    const state = stateAt(key, start);
    // Hashed into a copy, kept only if the digest is still where this step began: the step
    // awaits its reads, and the caller feeds a key one step at a time, but a drop may come.
    const next = state.hash.copy();
    const at = direct ? await hashRangeDirect(next, path, start, end) : hashRange(next, path, start, end);
    if (states.get(key) !== state || state.at !== start) throw Object.assign(new Error('the digest of ' + key + ' changed while it was fed'), { code: 'HASH_STATE_LOST' });
    if (at !== end) throw Object.assign(new Error(path + ' ends at byte ' + at + ', before ' + end), { code: 'SHORT_FILE' });
    state.before = { hash: state.hash, at: start };
    state.hash = next;
    state.at = end;
    return null;
  },
  undo({ key }) {
    const state = states.get(key);
    if (state && state.before) Object.assign(state, state.before, { before: null });
    return null;
  },
  bytes({ key, start, buffer, offset, length }) {
    const state = stateAt(key, start);
    state.hash.update(new Uint8Array(buffer, offset, length));
    state.before = null;
    state.at = start + length;
    return buffer;
  },
  digest({ key, end }) {
    const state = stateAt(key, end);
    states.delete(key);
    return state.hash.digest('hex');
  },
  async finish({ key, path, start, direct }) {
    const state = stateAt(key, start);
    states.delete(key);
    const end = direct ? await hashRangeDirect(state.hash, path, start, Infinity) : hashRange(state.hash, path, start, Infinity);
    return { digest: state.hash.digest('hex'), bytes: end - start };
  },
  drop({ key }) {
    states.delete(key);
    return null;
  },
};

function answer(seq, result) {
  // Memory lent by the caller goes back to it.
  parentPort.postMessage({ seq, result }, result instanceof ArrayBuffer ? [result] : []);
}

function refuse(seq, err) {
  parentPort.postMessage({ seq, error: { message: String(err && err.message), code: err && err.code } });
}

parentPort.on('message', (message) => {
  let result;
  try {
    result = ops[message.op](message);
  } catch (err) {
    return refuse(message.seq, err);
  }
  // Reads from the disk answer later; other calls go on meanwhile.
  if (result instanceof Promise) result.then((value) => answer(message.seq, value), (err) => refuse(message.seq, err));
  else answer(message.seq, result);
});
`;

/** Stops the worker after this long without work; a session's digest in progress is then lost (and refused). */
const IDLE_MS = 60_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface Running {
  worker: Worker;
  /** Calls sent to this worker and not answered yet. */
  pending: Map<number, Pending>;
}

export class HashWorker {
  private current: Running | null = null;
  private seq = 0;
  private idle: NodeJS.Timeout | null = null;
  /** Digests that must not be lost to an idle stop between their steps (see `hold`). */
  private holds = 0;

  /**
   * Keeps the worker (and the digests it holds) from stopping for want of work until the
   * returned function is called: for a digest built from bytes that are gone once hashed,
   * which could not be hashed again if the worker forgot it while a slow client paused.
   */
  hold(): () => void {
    this.holds += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.holds -= 1;
      const running = this.current;
      if (this.holds === 0 && running && running.pending.size === 0) this.rest(running);
    };
  }

  /**
   * Hashes bytes [start, end) of `path` into `key`'s digest, which must have reached `start`;
   * `direct`: read past the page cache, where the filesystem allows.
   */
  feed(key: string, path: string, start: number, end: number, direct = false): Promise<void> {
    return this.call('feed', { key, path, start, end, direct }) as Promise<void>;
  }

  /** Takes back the last range fed into `key`'s digest. */
  undo(key: string): Promise<void> {
    return this.call('undo', { key }) as Promise<void>;
  }

  /**
   * Hashes `length` bytes of `buffer` from `offset` into `key`'s digest (a new one if `start`
   * is 0), which must have reached `start`. The buffer is moved to the worker, not copied, and
   * comes back as the answer; it is lost if the worker fails.
   */
  bytes(key: string, start: number, buffer: ArrayBuffer, offset: number, length: number): Promise<ArrayBuffer> {
    return this.call('bytes', { key, start, buffer, offset, length }, [buffer]) as Promise<ArrayBuffer>;
  }

  /** `key`'s digest (hex), which must have reached `end`; the worker forgets it. */
  digest(key: string, end: number): Promise<string> {
    return this.call('digest', { key, end }) as Promise<string>;
  }

  /**
   * Hashes `path` from `start` to its end into `key`'s digest (a new one if `start` is 0) and
   * returns it; `direct` as for `feed`.
   */
  finish(key: string, path: string, start: number, direct = false): Promise<{ digest: string; bytes: number }> {
    return this.call('finish', { key, path, start, direct }) as Promise<{ digest: string; bytes: number }>;
  }

  drop(key: string): void {
    // (No worker running: it holds no digest, and starting one to say so would idle a minute.)
    if (this.current) this.call('drop', { key }).catch(() => {});
  }

  /** Stops the worker; calls still in flight fail, and the next call starts a new one. */
  async close(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    const running = this.current;
    this.current = null;
    await running?.worker.terminate();
  }

  private call(op: string, args: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const running = this.start();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      running.pending.set(seq, { resolve, reject });
      running.worker.ref();
      running.worker.postMessage({ seq, op, ...args }, transfer);
    });
  }

  private start(): Running {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (this.current) return this.current;
    const running: Running = { worker: new Worker(WORKER_SOURCE, { eval: true }), pending: new Map() };
    running.worker.on('message', (message: { seq: number; result?: unknown; error?: { message: string; code?: string } }) => {
      const pending = running.pending.get(message.seq);
      running.pending.delete(message.seq);
      if (message.error) pending?.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      else pending?.resolve(message.result);
      if (running.pending.size === 0) this.rest(running);
    });
    // Only this worker's calls fail with it: a worker started after it was stopped has its own.
    const fail = (err: unknown) => {
      if (this.current === running) this.current = null;
      for (const pending of running.pending.values()) pending.reject(err);
      running.pending.clear();
    };
    running.worker.on('error', fail);
    running.worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
    this.current = running;
    return running;
  }

  /** No work in flight: the worker no longer keeps the process alive, and stops if none comes. */
  private rest(running: Running): void {
    running.worker.unref();
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.current === running && running.pending.size === 0 && this.holds === 0) {
        this.current = null;
        void running.worker.terminate();
      }
    }, IDLE_MS);
    this.idle.unref();
  }
}
