/**
 * Server configuration: flags, then `MODELGATE_*` environment variables, then defaults.
 * Read once at start-up and validated; a bad value stops start-up with one clear line.
 */
import { isAbsolute, join, resolve } from 'node:path';
import type { S3StoreOptions } from '../blobs/s3-blob-store.js';

export interface ServeConfig {
  port: number;
  host: string;
  dataDir: string;
  /** A SQLite file path or a postgres:// URL. */
  database: string;
  /** A directory for the local blob store, or an `s3://bucket/prefix` URL. */
  blobs: string;
  /** Set when `blobs` is an s3:// URL. */
  s3: S3Config | null;
  maxBlobBytes: number;
  /** 0 for no limit. */
  maxStoreBytes: number;
  uploadTtlMs: number;
  gcGraceMs: number;
  /** How often the server collects garbage by itself; 0 never. */
  gcIntervalMs: number;
  allowWebhookHosts: string[];
  webhooks: { maxAttempts: number; retryBaseMs: number; leaseMs: number; timeoutMs: number };
  limits: ServerLimits;
}

/** Where an S3 blob store lives (what `--blobs s3://...` and the `--s3-*` flags say). */
export type S3Config = Omit<S3StoreOptions, 'spoolDir'>;
/** What protects one server process from a client that sends too much, too fast or too slowly. */
export interface ServerLimits {
  /** Requests a token may make per minute, sustained (0: no limit); counted per process. */
  rateLimitPerMinute: number;
  /** Requests a token may make at once before the per-minute rate applies. */
  rateLimitBurst: number;
  /** Failed authentications one client address may make per minute before it gets 429. */
  authFailuresPerMinute: number;
  /** A client must send its request headers within this. */
  headersTimeoutMs: number;
  /** A client must send its whole request (headers and body) within this; 0: no limit. */
  requestTimeoutMs: number;
  /** A connection that sends and receives nothing for this long is closed. */
  idleTimeoutMs: number;
  /** On SIGTERM/SIGINT, how long in-flight requests get to finish before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** Whether (true) or which proxy addresses may set X-Forwarded-For for the client address. */
  trustProxy: boolean | string[];
}

export const DEFAULT_LIMITS: ServerLimits = {
  rateLimitPerMinute: 6000,
  rateLimitBurst: 200,
  authFailuresPerMinute: 60,
  headersTimeoutMs: 20_000,
  // Long enough for a large upload in one request; slow or stalled senders are caught by the
  // idle timeout long before.
  requestTimeoutMs: 3_600_000,
  idleTimeoutMs: 120_000,
  shutdownTimeoutMs: 30_000,
  trustProxy: false,
};

export class ConfigError extends Error {}

export interface ServeFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  database?: string;
  blobs?: string;
  maxBlobSize?: string;
  maxStoreSize?: string;
  uploadTtl?: string;
  gcGrace?: string;
  gcInterval?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3PathStyle?: boolean;
  s3Presign?: string;
  allowWebhookHosts?: string;
  webhookMaxAttempts?: string;
  webhookRetryBaseMs?: string;
  webhookLeaseMs?: string;
  webhookTimeoutMs?: string;
  rateLimit?: string;
  rateLimitBurst?: string;
  authFailureLimit?: string;
  headersTimeoutMs?: string;
  requestTimeoutMs?: string;
  idleTimeoutMs?: string;
  shutdownTimeoutMs?: string;
  trustProxy?: string;
}

export function loadServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv): ServeConfig {
  const pick = (flag: string | undefined, name: string) => flag ?? env[`MODELGATE_${name}`];
  const portText = pick(flags.port, 'PORT') ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 0 || port > 65535) throw new ConfigError(`--port must be 0-65535, got ${JSON.stringify(portText)}`);
  const host = pick(flags.host, 'HOST') ?? '127.0.0.1';
  if (host.trim() === '') throw new ConfigError('--host must not be empty');
  const dataDir = resolve(pick(flags.dataDir, 'DATA_DIR') ?? './modelgate-data');
  const database = pick(flags.database, 'DATABASE') ?? join(dataDir, 'modelgate.db');
  if (/^[a-z]+:\/\//i.test(database) && !/^postgres(ql)?:\/\//.test(database)) {
    throw new ConfigError(`--database must be a SQLite file path or a postgres:// URL, got ${JSON.stringify(redact(database))}`);
  }
  const blobs = pick(flags.blobs, 'BLOBS') ?? join(dataDir, 'blobs');
  let s3: S3Config | null = null;
  if (/^[a-z0-9]+:\/\//i.test(blobs)) {
    const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(blobs);
    if (!match) throw new ConfigError(`--blobs ${JSON.stringify(blobs)} must be a directory or s3://bucket/prefix`);
    const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
    const endpoint = pick(flags.s3Endpoint, 'S3_ENDPOINT');
    if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) throw new ConfigError(`--s3-endpoint must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
    const pathStyle = flags.s3PathStyle ?? ['1', 'true', 'yes'].includes((env.MODELGATE_S3_PATH_STYLE ?? '').toLowerCase());
    s3 = {
      bucket: match[1]!,
      prefix: prefix === '' ? '' : `${prefix}/`,
      ...(endpoint ? { endpoint } : {}),
      region: pick(flags.s3Region, 'S3_REGION') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: pathStyle,
      presignSeconds: parseDuration(pick(flags.s3Presign, 'S3_PRESIGN') ?? '0', 's3-presign') / 1000,
    };
  }
  const maxText = pick(flags.maxBlobSize, 'MAX_BLOB_SIZE') ?? String(64 * 1024 ** 3);
  const maxBlobBytes = parseSize(maxText);
  const maxStoreBytes = parseSize(pick(flags.maxStoreSize, 'MAX_STORE_SIZE') ?? '0');
  const uploadTtlMs = parseDuration(pick(flags.uploadTtl, 'UPLOAD_TTL') ?? '24h', 'upload-ttl');
  const gcGraceMs = parseDuration(pick(flags.gcGrace, 'GC_GRACE') ?? '1h', 'gc-grace');
  const gcIntervalMs = parseDuration(pick(flags.gcInterval, 'GC_INTERVAL') ?? '6h', 'gc-interval');
  if (uploadTtlMs < 1000) throw new ConfigError('--upload-ttl must be at least 1s');
  const hosts = pick(flags.allowWebhookHosts, 'ALLOW_WEBHOOK_HOSTS') ?? '';
  const int = (text: string | undefined, fallback: number, flag: string, min: number, max: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) throw new ConfigError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
    return value;
  };
  const webhooks = {
    maxAttempts: int(pick(flags.webhookMaxAttempts, 'WEBHOOK_MAX_ATTEMPTS'), 10, 'webhook-max-attempts', 1, 100),
    retryBaseMs: int(pick(flags.webhookRetryBaseMs, 'WEBHOOK_RETRY_BASE_MS'), 1000, 'webhook-retry-base-ms', 1, 3_600_000),
    leaseMs: int(pick(flags.webhookLeaseMs, 'WEBHOOK_LEASE_MS'), 60_000, 'webhook-lease-ms', 100, 3_600_000),
    timeoutMs: int(pick(flags.webhookTimeoutMs, 'WEBHOOK_TIMEOUT_MS'), 10_000, 'webhook-timeout-ms', 100, 300_000),
  };
  const d = DEFAULT_LIMITS;
  const limits: ServerLimits = {
    rateLimitPerMinute: int(pick(flags.rateLimit, 'RATE_LIMIT'), d.rateLimitPerMinute, 'rate-limit', 0, 10_000_000),
    rateLimitBurst: int(pick(flags.rateLimitBurst, 'RATE_LIMIT_BURST'), d.rateLimitBurst, 'rate-limit-burst', 1, 1_000_000),
    authFailuresPerMinute: int(pick(flags.authFailureLimit, 'AUTH_FAILURE_LIMIT'), d.authFailuresPerMinute, 'auth-failure-limit', 0, 1_000_000),
    headersTimeoutMs: int(pick(flags.headersTimeoutMs, 'HEADERS_TIMEOUT_MS'), d.headersTimeoutMs, 'headers-timeout-ms', 100, 3_600_000),
    requestTimeoutMs: int(pick(flags.requestTimeoutMs, 'REQUEST_TIMEOUT_MS'), d.requestTimeoutMs, 'request-timeout-ms', 0, 86_400_000),
    idleTimeoutMs: int(pick(flags.idleTimeoutMs, 'IDLE_TIMEOUT_MS'), d.idleTimeoutMs, 'idle-timeout-ms', 100, 3_600_000),
    shutdownTimeoutMs: int(pick(flags.shutdownTimeoutMs, 'SHUTDOWN_TIMEOUT_MS'), d.shutdownTimeoutMs, 'shutdown-timeout-ms', 0, 3_600_000),
    trustProxy: trustProxy(pick(flags.trustProxy, 'TRUST_PROXY')),
  };
  if (limits.requestTimeoutMs !== 0 && limits.requestTimeoutMs < limits.headersTimeoutMs) {
    throw new ConfigError(`--request-timeout-ms (${limits.requestTimeoutMs}) must be 0 or at least --headers-timeout-ms (${limits.headersTimeoutMs})`);
  }
  return {
    port,
    host,
    dataDir,
    database: /^postgres/.test(database) || isAbsolute(database) || database === ':memory:' ? database : resolve(database),
    blobs: s3 ? blobs : resolve(blobs),
    s3,
    maxBlobBytes,
    maxStoreBytes,
    uploadTtlMs,
    gcGraceMs,
    gcIntervalMs,
    allowWebhookHosts: hosts.split(',').map((h) => h.trim()).filter(Boolean),
    webhooks,
    limits,
  };
}

function trustProxy(text: string | undefined): boolean | string[] {
  if (text === undefined || text === '' || text === 'false') return false;
  if (text === 'true') return true;
  const list = text.split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of list) {
    if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(a)) throw new ConfigError(`--trust-proxy must be true, false or a comma list of addresses or CIDRs, got ${JSON.stringify(a)}`);
  }
  return list;
}

/** `1048576`, `512M`, `2G`, `1.5T`. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]i?B?|B)?$/i.exec(text.trim());
  if (!match) throw new ConfigError(`size ${JSON.stringify(text)} must be a number of bytes, optionally with K, M, G or T`);
  const unit = (match[2] ?? '').toUpperCase()[0];
  const factor = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : unit === 'T' ? 1024 ** 4 : 1;
  return Math.floor(Number(match[1]) * factor);
}

/** `90` (seconds), `30s`, `15m`, `24h`, `7d`, in milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new ConfigError(`--${flag} must be a duration such as 90, 30s, 15m, 24h or 7d, got ${JSON.stringify(text)}`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's']!;
  return Math.round(Number(match[1]) * factor);
}

/** A URL with its password hidden, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
