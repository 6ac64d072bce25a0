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

export class Transport {
  protected readonly base: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.token = options.token;
    // Wrapped: a browser's fetch throws "Illegal invocation" when called as a method of another object.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  // --- plumbing
  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown; raw?: AsyncIterable<Uint8Array>; headers?: Record<string, string> } = {}): Promise<T> {
    return (await this.parse(await this.send(method, path, options))) as T;
  }

  protected async send(method: string, path: string, options: { query?: Query; body?: unknown; raw?: AsyncIterable<Uint8Array>; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
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

/** Web Crypto, so the same client runs in Node and in the browser (the web UI bundles it). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
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
