/**
 * Server configuration: flags, then `MODELGATE_*` environment variables, then defaults.
 * Read once at start-up and validated; a bad value stops start-up with one clear line.
 */
import { isAbsolute, join, resolve } from 'node:path';

export interface ServeConfig {
  port: number;
  host: string;
  dataDir: string;
  /** A SQLite file path or a postgres:// URL. */
  database: string;
  /** A directory for the local blob store; s3:// URLs arrive with the S3 adapter. */
  blobs: string;
  maxBlobBytes: number;
  allowWebhookHosts: string[];
  webhooks: { maxAttempts: number; retryBaseMs: number; leaseMs: number; timeoutMs: number };
}

export class ConfigError extends Error {}

export interface ServeFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  database?: string;
  blobs?: string;
  maxBlobSize?: string;
  allowWebhookHosts?: string;
  webhookMaxAttempts?: string;
  webhookRetryBaseMs?: string;
  webhookLeaseMs?: string;
  webhookTimeoutMs?: string;
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
  if (/^[a-z0-9]+:\/\//i.test(blobs)) {
    throw new ConfigError(`--blobs ${JSON.stringify(blobs)}: only a local directory is supported by this build`);
  }
  const maxText = pick(flags.maxBlobSize, 'MAX_BLOB_SIZE') ?? String(64 * 1024 ** 3);
  const maxBlobBytes = parseSize(maxText);
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
  return {
    port,
    host,
    dataDir,
    database: /^postgres/.test(database) || isAbsolute(database) || database === ':memory:' ? database : resolve(database),
    blobs: resolve(blobs),
    maxBlobBytes,
    allowWebhookHosts: hosts.split(',').map((h) => h.trim()).filter(Boolean),
    webhooks,
  };
}

/** `1048576`, `512M`, `2G`, `1.5T`. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]i?B?|B)?$/i.exec(text.trim());
  if (!match) throw new ConfigError(`size ${JSON.stringify(text)} must be a number of bytes, optionally with K, M, G or T`);
  const unit = (match[2] ?? '').toUpperCase()[0];
  const factor = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : unit === 'T' ? 1024 ** 4 : 1;
  return Math.floor(Number(match[1]) * factor);
}

/** A URL with its password hidden, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
