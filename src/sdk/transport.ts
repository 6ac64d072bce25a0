/**
 * The HTTP plumbing under the typed client: URLs and query strings, the bearer token, JSON
 * and streamed bodies, and turning the server's error envelope into ApiError.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  token?: string;
  /** A fetch implementation; the global one by default. */
  fetch?: typeof fetch;
}

export type Query = object;

/** An answer whose body is read as it arrives. */
export interface StreamedBody {
  status: number;
  headers: Headers;
  body: AsyncIterable<Uint8Array>;
}

interface SendOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, streamed. */
  raw?: AsyncIterable<Uint8Array>;
  /**
   * The raw body's length, when known: sent as Content-Length when the body goes through
   * node:http (fetch sets its own for a body it can measure, and streams the rest chunked). Node's HTTP server takes a body of known length for much less CPU than a
   * chunked one (a third less for a 1 GiB upload in 8 MiB parts).
   */
  rawLength?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class Transport {
  protected readonly base: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;

  /** Where streamed bodies go straight to a socket: Node, with no fetch of the caller's own. */
  private readonly streamer: typeof node.http | undefined;

  constructor(options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.token = options.token;
    // Wrapped: a browser's fetch throws "Illegal invocation" when called as a method of another object.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.streamer = options.fetch ? undefined : node.http;
  }

  // --- plumbing
  async request<T>(method: string, path: string, options: SendOptions = {}): Promise<T> {
    return (await this.parse(await this.send(method, path, options))) as T;
  }

  protected async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(options.query ?? {}) as [string, unknown][]) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) url.searchParams.append(key, String(item));
      else url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: BodyInit | undefined;
    // fetch streams an async iterable as the request body (with duplex: 'half').
    if (options.raw) body = options.raw as unknown as BodyInit;
    else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    if (options.raw && this.streamer) {
      if (options.rawLength !== undefined) headers['content-length'] = String(options.rawLength);
      return sendStreamed(url, method, headers, options.raw, this.base, options.signal);
    }
    try {
      // A streamed body goes with redirect: 'error': under any other mode Node's fetch clones the
      // request to be able to replay it, and the clone's unread copy of the stream keeps every
      // chunk sent, so an upload would hold its whole size in memory (nodejs/undici#4058).
      const streaming = options.raw ? { duplex: 'half', redirect: 'error' } : {};
      return await this.fetchImpl(url, { method, headers, body, signal: options.signal, ...streaming } as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      throw new ApiError(0, 'UNREACHABLE', `cannot reach ${this.base}: ${cause?.code ?? (err as Error).message}`);
    }
  }

  /**
   * GETs a body to be read as it arrives; an answer other than 2xx throws ApiError. In Node it
   * comes through node:http as Node's own stream: fetch's body is a web stream, and reading one
   * cost the client more CPU than the server spent sending it (a 1 GiB download ran 8-17%
   * slower). Redirects are followed here, the bearer token only to the same origin: a
   * presigned URL carries its own credentials.
   */
  protected async receive(path: string, headers: Record<string, string> = {}): Promise<StreamedBody> {
    if (!this.streamer) {
      const response = await this.send('GET', path, { headers });
      if (!response.ok) await this.parse(response);
      return { status: response.status, headers: response.headers, body: webBody(response.body) };
    }
    const all = this.token ? { ...headers, authorization: `Bearer ${this.token}` } : headers;
    let refusal: Response;
    try {
      const response = await getFollowing(new URL(this.base + path), all, 0);
      const status = response.statusCode ?? 502;
      if (status >= 200 && status <= 299) return { status, headers: headersOf(response), body: response };
      refusal = await fetchResponse(response);
    } catch (err) {
      throw unreachable((err as { origin?: string }).origin ?? this.base, err);
    }
    await this.parse(refusal);
    // (parse has thrown: the answer is not 2xx.)
    throw new ApiError(refusal.status, `HTTP_${refusal.status}`, refusal.statusText);
  }

  protected async parse(response: Response): Promise<unknown> {
    if (response.status === 204) return undefined;
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // fall through: a non-JSON body is reported below
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: unknown; request_id?: string } } | undefined)?.error;
      throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? (text.slice(0, 200) || response.statusText),
        error?.details ?? null, error?.request_id ?? null);
    }
    return json;
  }
}

/**
 * Node's own modules when the client runs in Node (20.16 and later), found at run time: the
 * same client runs in the browser too (the web UI bundles it), where there are none.
 */
interface NodeModules {
  crypto?: { createHash(algorithm: string): { update(bytes: Uint8Array): { digest(encoding: 'hex'): string } } };
  zlib?: { crc32?(bytes: Uint8Array, value?: number): number };
  http?: NodeHttp;
  https?: NodeHttp;
}
const builtin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
/** One of Node's modules, or undefined outside Node. */
export function nodeModule<T>(id: string): T | undefined {
  return builtin ? builtin(id) as T : undefined;
}
const node: NodeModules = builtin ? {
  crypto: builtin('node:crypto') as NodeModules['crypto'],
  zlib: builtin('node:zlib') as NodeModules['zlib'],
  http: builtin('node:http') as NodeHttp,
  https: builtin('node:https') as NodeHttp,
} : {};

/**
 * CRC-32 where the runtime computes it natively: in Node, `@node-rs/crc32` (a dependency of
 * the registry's package; it folds with carry-less multiplication, about 4x `node:zlib`'s
 * speed) when it loads, else `node:zlib`'s; none in a browser. Loaded on the first part.
 */
let nodeCrc32: ((bytes: Uint8Array) => number) | null | undefined;
function loadCrc32(): ((bytes: Uint8Array) => number) | null {
  if (!builtin) return null;
  try {
    const { createRequire } = builtin('node:module') as { createRequire(from: string): (id: string) => unknown };
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32?: unknown };
    if (typeof native.crc32 === 'function') return native.crc32 as (bytes: Uint8Array) => number;
  } catch {
    // no prebuilt binary for this platform, or none installed
  }
  return node.zlib?.crc32 ?? null;
}

/** What streaming a request body takes from node:http (typed here: the web UI's build has no Node types). */
interface NodeHttp {
  request(url: URL, options: { method: string; headers: Record<string, string>; signal?: AbortSignal }): NodeRequest;
}
interface NodeRequest {
  strictContentLength: boolean;
  setTimeout(ms: number, onTimeout: () => void): unknown;
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(err?: Error): void;
  on(event: 'drain', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  once(event: 'response', listener: (response: NodeResponse) => void): unknown;
  once(event: 'error', listener: (err: Error & { code?: string }) => void): unknown;
}
interface NodeResponse extends AsyncIterable<Uint8Array> {
  statusCode?: number;
  statusMessage?: string;
  headers: Record<string, string | string[] | undefined>;
  resume(): unknown;
}

function headersOf(response: NodeResponse): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
  }
  return headers;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** The answer as a fetch Response, its body read whole. */
async function fetchResponse(response: NodeResponse): Promise<Response> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of response) chunks.push(chunk);
  const given = response.statusCode ?? 502;
  // (Response refuses a status it does not know, and a body with these.)
  const status = given >= 200 && given <= 599 ? given : 502;
  const empty = status === 204 || status === 205 || status === 304;
  const init = { status, statusText: response.statusMessage ?? '', headers: headersOf(response) };
  return new Response(empty ? null : await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer(), init);
}

/** A node:http(s) request that is given up, as undici does, after IDLE_TIMEOUT_MS without progress. */
function nodeRequest(url: URL, options: { method: string; headers: Record<string, string>; signal?: AbortSignal }): NodeRequest {
  const request = (url.protocol === 'https:' ? node.https! : node.http!).request(url, options);
  request.setTimeout(IDLE_TIMEOUT_MS, () => request.destroy(Object.assign(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
  return request;
}

function unreachable(origin: string, err: unknown): ApiError {
  return new ApiError(0, 'UNREACHABLE', `cannot reach ${origin}: ${(err as { code?: string }).code ?? (err as Error).message}`);
}

/**
 * A GET with node:http, following redirects as fetch does; the token stays with its origin. A
 * failure is marked with the origin it happened at (a presigned URL's, say, not the registry's).
 */
async function getFollowing(url: URL, headers: Record<string, string>, hops: number): Promise<NodeResponse> {
  const request = nodeRequest(url, { method: 'GET', headers });
  const response = await new Promise<NodeResponse>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', (err) => reject(Object.assign(err, { origin: url.origin })));
    request.end();
  });
  const location = response.headers.location;
  if (!REDIRECTS.has(response.statusCode ?? 0) || typeof location !== 'string') return response;
  response.resume();
  if (hops >= MAX_REDIRECTS) throw Object.assign(new Error(`more than ${MAX_REDIRECTS} redirects`), { code: 'TOO_MANY_REDIRECTS' });
  const next = new URL(location, url);
  const { authorization: _token, ...others } = headers;
  return getFollowing(next, next.origin === url.origin ? headers : others, hops + 1);
}

/** fetch's body as an async iterable, where a web stream is not one yet. */
async function* webBody(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stopped early: the rest is not wanted, and the connection is let go.
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** How long a streamed request may see no progress at all (undici's header and body timeouts). */
const IDLE_TIMEOUT_MS = 300_000;

/**
 * Sends a streamed body with node:http: each chunk goes to the socket as it is. (Node's fetch
 * copies every chunk of a streamed body, twice for one that is not a Buffer: for a large
 * upload that was most of the client's CPU and all of its garbage.) Answers a fetch Response.
 */
async function sendStreamed(url: URL, method: string, headers: Record<string, string>, body: AsyncIterable<Uint8Array>, base: string, signal?: AbortSignal): Promise<Response> {
  const request = nodeRequest(url, { method, headers, signal });
  // A body that is not the length declared fails here, rather than desynchronise the connection.
  request.strictContentLength = true;
  let answered = false;
  let closed = false;
  let wake: (() => void) | null = null;
  const wakeUp = () => {
    const waiting = wake;
    wake = null;
    waiting?.();
  };
  const answer = new Promise<NodeResponse>((resolve, reject) => {
    request.once('response', (response) => { answered = true; resolve(response); });
    request.once('error', reject);
  });
  answer.then(wakeUp, wakeUp); // (observed below, once the body is sent or the server has answered)
  request.on('drain', wakeUp);
  request.once('close', () => { closed = true; wakeUp(); });
  let sent = false;
  try {
    // A server that answers before the whole body arrived (a refusal) is not sent the rest.
    for await (const chunk of body) {
      if (answered || closed) break;
      if (!request.write(chunk)) await new Promise<void>((resolve) => { wake = resolve; });
    }
    if (!answered && !closed) {
      request.end();
      sent = true;
    }
  } catch (err) {
    request.destroy(err as Error);
    throw err;
  }
  try {
    return await fetchResponse(await answer);
  } catch (err) {
    throw unreachable(base, err);
  } finally {
    // Half a body was sent: the connection is out of step and is not kept.
    if (!sent) request.destroy();
  }
}

/** Node's hashing where there is one (it reads the bytes in place); Web Crypto, which copies them first, elsewhere. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  if (node.crypto) return node.crypto.createHash('sha256').update(bytes).digest('hex');
  const hash = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The cheapest checksum the server accepts for an upload part: its CRC-32 where the runtime
 * computes one natively (a tenth of a sha256 pass with `@node-rs/crc32`, a third with
 * `node:zlib`), its sha256 otherwise. Either way the server checks the whole sha256 at
 * completion.
 */
export async function partChecksum(bytes: Uint8Array): Promise<{ crc32: string } | { sha256: string }> {
  const crc32 = nodeCrc32 === undefined ? (nodeCrc32 = loadCrc32()) : nodeCrc32;
  if (crc32) return { crc32: (crc32(bytes) >>> 0).toString(16).padStart(8, '0') };
  return { sha256: await sha256Hex(bytes) };
}

export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

export async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** fetch stalls for good on an empty chunk in a streamed body (an empty upload included), so it never sees one. */
export async function* nonEmpty(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of source) if (chunk.length > 0) yield chunk;
}

export async function* counting(source: AsyncIterable<Uint8Array>, onProgress: (sent: number) => void): AsyncIterable<Uint8Array> {
  let sent = 0;
  for await (const chunk of source) {
    sent += chunk.length;
    onProgress(sent);
    yield chunk;
  }
}
