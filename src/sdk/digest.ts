/**
 * SHA-256 of a stream of bytes as it goes by, for checking a download. In Node a large stream
 * is hashed on a worker thread: receiving a GiB cost the client about 0.35 s of CPU and hashing
 * it 0.6-0.9 s more, one after the other on the event loop, so the download went at the speed
 * of one core while the other was half idle. The bytes are copied into 1 MiB slabs whose
 * memory moves to the worker (a transfer, not a copy) and comes back once hashed; at most
 * `SLABS_AHEAD` of them are in flight per stream, so a slow hash holds up the reading instead
 * of queueing the whole download in memory. Small streams are hashed in place: a message
 * round trip costs more than hashing a few MiB.
 */
import { ApiError, nodeModule } from './transport.js';

const SLAB_BYTES = 1 << 20;
const SLABS_AHEAD = 8;
/** Below this (or of unknown length), a stream is hashed on the caller's thread. */
export const OFF_THREAD_MIN_BYTES = 8 << 20;

export interface StreamDigest {
  /** Takes the next bytes; a promise means: wait for it before the next call (the hashing is behind). */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /** The hex digest of everything given; the digest is then done with. */
  digest(): Promise<string>;
  /** Lets go of a digest that will not be finished (the stream broke off). */
  abandon(): void;
}

interface NodeHash { update(bytes: Uint8Array): NodeHash; digest(encoding: 'hex'): string }
interface NodeCrypto { createHash(algorithm: 'sha256'): NodeHash }

/** Node's crypto; ApiError `UNSUPPORTED` where there is none (a browser: Web Crypto hashes only whole buffers). */
export function streamHashing(): NodeCrypto {
  const crypto = nodeModule<NodeCrypto>('node:crypto');
  if (!crypto) throw new ApiError(0, 'UNSUPPORTED', 'hashing a stream as it arrives needs Node (node:crypto)');
  return crypto;
}

/**
 * `body` handed on as it arrives, hashed on the way; after its last byte it throws ApiError
 * `DIGEST_MISMATCH` if the bytes are not `digest`'s (`sha256:<hex>`). `length`, when known,
 * decides where they are hashed.
 */
export async function* checkedStream(body: AsyncIterable<Uint8Array>, digest: string, length: number | undefined): AsyncIterable<Uint8Array> {
  let hash: StreamDigest | undefined;
  let size = 0;
  let hashed = false;
  try {
    hash = streamDigest(length);
    for await (const chunk of body) {
      size += chunk.length;
      const behind = hash.update(chunk);
      if (behind) await behind;
      yield chunk;
    }
    const actual = `sha256:${await hash.digest()}`;
    hashed = true;
    if (actual !== digest) throw new ApiError(0, 'DIGEST_MISMATCH', `received ${size} bytes hashing to ${actual}, not ${digest}`);
  } finally {
    // Broken off, or stopped early by the reader: the digest will not be finished.
    if (!hashed) hash?.abandon();
  }
}

/** A SHA-256 of `expectedBytes` bytes (when known), computed where it costs the caller least. */
export function streamDigest(expectedBytes?: number): StreamDigest {
  const crypto = streamHashing();
  const threads = nodeModule<NodeThreads>('node:worker_threads');
  if (threads && expectedBytes !== undefined && expectedBytes >= OFF_THREAD_MIN_BYTES) {
    try {
      return new OffThreadDigest(threads);
    } catch {
      // No thread to be had (the permission model without --allow-worker, say): hash in place.
    }
  }
  const hash = crypto.createHash('sha256');
  return {
    update(chunk) { hash.update(chunk); return undefined; },
    digest: async () => hash.digest('hex'),
    abandon() {},
  };
}

/** Plain JavaScript, evaluated by the worker. Each message is one stream's next slab, or its end. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', ({ id, slab, length, end }) => {
  let hash = hashes.get(id);
  if (!hash) hashes.set(id, hash = createHash('sha256'));
  if (slab) {
    hash.update(new Uint8Array(slab, 0, length));
    parentPort.postMessage({ id, slab }, [slab]);
  }
  if (end === 'digest') parentPort.postMessage({ id, hex: hash.digest('hex') });
  if (end) hashes.delete(id);
});
`;

interface NodeWorker {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (message: Reply) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  ref(): void;
  unref(): void;
}
interface NodeThreads { Worker: new (source: string, options: { eval: true }) => NodeWorker }
type Reply = { id: number; slab: ArrayBuffer; hex?: undefined } | { id: number; hex: string; slab?: undefined };

/**
 * The worker every off-thread digest of the process shares, started with the first one. It
 * keeps the process alive only while a digest waits on it: a stream its reader dropped half
 * read must not hold the process open.
 */
class Hasher {
  private static current: Hasher | null = null;
  static get(threads: NodeThreads): Hasher {
    return (Hasher.current ??= new Hasher(threads));
  }

  private readonly worker: NodeWorker;
  private readonly digests = new Map<number, OffThreadDigest>();
  private nextId = 1;
  private waiting = 0;
  /** Slabs back from the worker, for the next stream. */
  readonly spare: ArrayBuffer[] = [];

  private constructor(threads: NodeThreads) {
    this.worker = new threads.Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (reply) => this.digests.get(reply.id)?.reply(reply));
    const fail = (err: Error) => {
      if (Hasher.current === this) Hasher.current = null;
      for (const digest of this.digests.values()) digest.fail(err);
      this.digests.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the hashing thread exited (${code})`)));
  }

  open(digest: OffThreadDigest): number {
    const id = this.nextId++;
    this.digests.set(id, digest);
    return id;
  }
  close(id: number): void {
    this.digests.delete(id);
  }
  send(message: { id: number; slab?: ArrayBuffer; length?: number; end?: 'digest' | 'drop' }): void {
    this.worker.postMessage(message, message.slab ? [message.slab] : []);
  }
  /** Holds the process open until `wait` settles. */
  async awaiting<T>(wait: Promise<T>): Promise<T> {
    if (this.waiting++ === 0) this.worker.ref();
    try {
      return await wait;
    } finally {
      if (--this.waiting === 0) this.worker.unref();
    }
  }
}

class OffThreadDigest implements StreamDigest {
  private readonly hasher: Hasher;
  private readonly id: number;
  private slab: Uint8Array | null = null;
  private filled = 0;
  private inFlight = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private result: { resolve(hex: string): void; reject(err: Error): void } | null = null;

  constructor(threads: NodeThreads) {
    this.hasher = Hasher.get(threads);
    this.id = this.hasher.open(this);
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    let at = 0;
    while (at < chunk.length) {
      this.slab ??= new Uint8Array(this.hasher.spare.pop() ?? new ArrayBuffer(SLAB_BYTES));
      const take = Math.min(chunk.length - at, SLAB_BYTES - this.filled);
      this.slab.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === SLAB_BYTES) this.ship();
    }
    if (this.inFlight < SLABS_AHEAD) return undefined;
    return this.hasher.awaiting(this.room());
  }

  /** Resolves once fewer than SLABS_AHEAD slabs are out (a large chunk may have sent several). */
  private async room(): Promise<void> {
    while (this.inFlight >= SLABS_AHEAD) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
    if (this.failure) throw this.failure;
  }

  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.filled > 0) this.ship();
    const hex = new Promise<string>((resolve, reject) => { this.result = { resolve, reject }; });
    this.hasher.send({ id: this.id, end: 'digest' });
    return this.hasher.awaiting(hex);
  }

  abandon(): void {
    if (this.result || this.failure) return;
    this.failure = new Error('abandoned');
    this.hasher.send({ id: this.id, end: 'drop' });
    this.hasher.close(this.id);
    this.wakeUp();
  }

  reply(reply: Reply): void {
    if (reply.slab) {
      if (this.hasher.spare.length < 2 * SLABS_AHEAD) this.hasher.spare.push(reply.slab);
      this.inFlight--;
      this.wakeUp();
    } else if (reply.hex !== undefined) {
      this.hasher.close(this.id);
      this.result?.resolve(reply.hex);
    }
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.wakeUp();
    this.result?.reject(err);
  }

  private ship(): void {
    this.hasher.send({ id: this.id, slab: this.slab!.buffer as ArrayBuffer, length: this.filled });
    this.slab = null;
    this.filled = 0;
    this.inFlight++;
  }

  private wakeUp(): void {
    const waiting = this.wake;
    this.wake = null;
    waiting?.();
  }
}
