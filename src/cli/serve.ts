/** `modelgate serve`: the one command that is not an SDK client. */
import type { Command } from 'commander';
import { ConfigError, loadServeConfig, redact, type ServeFlags } from '../server/config.js';

export function serveCommand(program: Command): void {
  program.command('serve')
    .description('run the registry (SQLite and local blobs under --data-dir by default)')
    .option('--port <port>', 'port to listen on (MODELGATE_PORT)', undefined)
    .option('--host <host>', 'address to bind (MODELGATE_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'where state lives (MODELGATE_DATA_DIR, default ./modelgate-data)')
    .option('--database <url>', 'SQLite file path or postgres:// URL (MODELGATE_DATABASE)')
    .option('--blobs <dir|s3://bucket/prefix>', 'blob store: a directory or an S3 bucket (MODELGATE_BLOBS, default <data-dir>/blobs)')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint, e.g. http://127.0.0.1:9000 (MODELGATE_S3_ENDPOINT; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)')
    .option('--s3-region <region>', 'S3 region (MODELGATE_S3_REGION, default AWS_REGION or us-east-1)')
    .option('--s3-path-style', 'address the bucket in the path, as MinIO and s3rver want (MODELGATE_S3_PATH_STYLE=1)')
    .option('--s3-presign <duration>', 'redirect downloads to URLs presigned for this long, e.g. 15m; 0 streams through the server (MODELGATE_S3_PRESIGN, default 0)')
    .option('--max-blob-size <size>', 'largest blob accepted, e.g. 20G (MODELGATE_MAX_BLOB_SIZE, default 64G)')
    .option('--max-store-size <size>', 'quota on all blobs together, e.g. 2T; 0 for none (MODELGATE_MAX_STORE_SIZE, default 0)')
    .option('--upload-ttl <duration>', 'how long a resumable upload session stays open (MODELGATE_UPLOAD_TTL, default 24h)')
    .option('--gc-grace <duration>', 'how long an unreferenced blob is kept before collection (MODELGATE_GC_GRACE, default 1h)')
    .option('--gc-interval <duration>', 'how often the server collects garbage; 0 never (MODELGATE_GC_INTERVAL, default 6h)')
    .option('--allow-webhook-hosts <list>', 'comma list of internal hosts webhooks may call (MODELGATE_ALLOW_WEBHOOK_HOSTS)')
    .option('--webhook-max-attempts <n>', 'attempts before a delivery is marked failed (MODELGATE_WEBHOOK_MAX_ATTEMPTS, default 10)')
    .option('--webhook-retry-base-ms <ms>', 'first retry delay, doubled each time (MODELGATE_WEBHOOK_RETRY_BASE_MS, default 1000)')
    .option('--webhook-lease-ms <ms>', 'how long a dispatcher owns a delivery it took (MODELGATE_WEBHOOK_LEASE_MS, default 60000)')
    .option('--webhook-timeout-ms <ms>', 'how long to wait for a receiver (MODELGATE_WEBHOOK_TIMEOUT_MS, default 10000)')
    .option('--rate-limit <n>', 'requests per minute per token, per process; 0 for none (MODELGATE_RATE_LIMIT, default 6000)')
    .option('--rate-limit-burst <n>', 'requests a token may make at once (MODELGATE_RATE_LIMIT_BURST, default 200)')
    .option('--auth-failure-limit <n>', 'failed authentications per minute per client address; 0 for none (MODELGATE_AUTH_FAILURE_LIMIT, default 60)')
    .option('--headers-timeout-ms <ms>', 'time a client has to send request headers (MODELGATE_HEADERS_TIMEOUT_MS, default 20000)')
    .option('--request-timeout-ms <ms>', 'time a client has to send a whole request; 0 for none (MODELGATE_REQUEST_TIMEOUT_MS, default 3600000)')
    .option('--idle-timeout-ms <ms>', 'a connection silent this long is closed (MODELGATE_IDLE_TIMEOUT_MS, default 120000)')
    .option('--shutdown-timeout-ms <ms>', 'on SIGTERM, how long in-flight requests get to finish; 0 to wait (MODELGATE_SHUTDOWN_TIMEOUT_MS, default 30000)')
    .option('--trust-proxy <list>', 'true, or proxy addresses/CIDRs whose X-Forwarded-For names the client (MODELGATE_TRUST_PROXY)')
    .action(async (flags: ServeFlags) => {
      let config;
      try {
        config = loadServeConfig(flags, process.env);
      } catch (err) {
        if (err instanceof ConfigError) fail(err.message);
        throw err;
      }
      // Loaded here, not at the top: the server stack (Fastify, Kysely, drivers) takes most of a
      // second to import, and every other command is a thin HTTP client that never needs it.
      const { startServer } = await import('../server/main.js');
      let server;
      try {
        server = await startServer(config, { logger: { level: process.env.MODELGATE_LOG_LEVEL ?? 'info' } });
      } catch (err) {
        fail(startupMessage(err, config.database, config.port));
      }
      if (server.adminToken) {
        console.log(`admin token: ${server.adminToken}`);
        console.log(`(also written to ${config.dataDir}/admin-token; it is shown only once)`);
      }
      console.log(`modelgate listening on ${server.url} (database: ${redact(config.database)}, blobs: ${config.blobs})`);
      // Graceful stop: no new connections, in-flight requests and webhook sends finish, then exit 0.
      // A second signal, or the shutdown timeout, exits at once (committed work is safe either way).
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) {
          console.error(`modelgate: ${signal} again, exiting without waiting`);
          process.exit(1);
        }
        stopping = true;
        console.log(`modelgate: ${signal} received, finishing requests in flight`);
        if (config.limits.shutdownTimeoutMs > 0) {
          setTimeout(() => {
            console.error(`modelgate: requests still in flight after ${config.limits.shutdownTimeoutMs} ms, exiting`);
            process.exit(1);
          }, config.limits.shutdownTimeoutMs).unref();
        }
        await server.close();
        console.log('modelgate: stopped');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}

function startupMessage(err: unknown, database: string, port: number): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'EADDRINUSE') return `port ${port} is already in use (choose another with --port)`;
  if (e.code === 'EACCES') return `not allowed to listen on port ${port}`;
  if (e.code === 'ECONNREFUSED') return `cannot reach the database at ${redact(database)}: connection refused`;
  if (e.code === '3D000' || e.code === '28P01' || e.code === '28000') return `cannot use the database at ${redact(database)}: ${e.message}`;
  if (e.code === 'SQLITE_CANTOPEN' || e.code === 'SQLITE_NOTADB') return `cannot open the SQLite database ${database}: ${e.message}`;
  return `cannot start: ${e.message ?? String(err)}`;
}

function fail(message: string): never {
  console.error(`modelgate: ${message}`);
  process.exit(2);
}
