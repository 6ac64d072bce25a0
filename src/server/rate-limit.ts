/**
 * Per-token rate limits and a brake on failed authentication per client address. Each process
 * counts on its own (N servers behind a load balancer allow up to N times the rate), which
 * is enough to stop one runaway script or a token-guessing loop from starving everyone else.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ModelgateError } from '../core/errors.js';
import { isPublicRoute } from './auth.js';
import type { ServerLimits } from './config.js';

/**
 * Token buckets by key: each holds up to `burst` requests and refills at `perMinute`. Memory
 * is bounded: past `maxKeys` the key that came first is forgotten (it starts full again). A
 * key's bucket is updated in place, so a request costs one map lookup.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  private lastTakenAt = -Infinity;

  constructor(
    perMinute: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** Seconds until `key` may make one more request: 0 when it may now. Takes nothing, keeps nothing new. */
  wait(key: string): number {
    const bucket = this.buckets.get(key);
    return bucket ? this.secondsFor(this.refill(bucket)) : 0;
  }

  /** Takes one request from `key`'s bucket if it has one; returns `wait(key)` as it was. */
  take(key: string): number {
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.refill(bucket);
    } else {
      bucket = { tokens: this.burst, at: this.now() };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens < 1) return this.secondsFor(bucket);
    bucket.tokens -= 1;
    this.lastTakenAt = bucket.at;
    return 0;
  }

  /** Whether every bucket is full again (nothing was taken for as long as an empty one takes to refill): `wait` is 0 for every key. */
  allFull(): boolean {
    return this.now() - this.lastTakenAt >= this.burst / this.perMs;
  }

  private refill(bucket: { tokens: number; at: number }): { tokens: number; at: number } {
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    return bucket;
  }

  private secondsFor(bucket: { tokens: number }): number {
    return bucket.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }
}

function limited(reply: FastifyReply, seconds: number, message: string): ModelgateError {
  reply.header('retry-after', String(seconds));
  return new ModelgateError('RATE_LIMITED', message, { retry_after_seconds: seconds });
}

/**
 * Before authentication: a client address that failed to authenticate too often recently
 * gets 429 without its token being looked at. Failures are counted as their 401s go out.
 */
export function registerAuthFailureLimit(app: FastifyInstance, limits: ServerLimits): TokenBuckets | null {
  if (limits.authFailuresPerMinute === 0) return null;
  const failures = new TokenBuckets(limits.authFailuresPerMinute, limits.authFailuresPerMinute);
  // Callback hooks: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    if (isPublicRoute(request)) return done();
    const seconds = failures.wait(request.ip);
    done(seconds > 0 ? limited(reply, seconds, `too many failed authentications from this address; retry in ${seconds}s`) : undefined);
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 401) failures.take(request.ip);
    done();
  });
  return failures;
}

/** After authentication: each token (bearer or the password of Basic) has its own bucket. */
export function registerRateLimit(app: FastifyInstance, limits: ServerLimits): TokenBuckets | null {
  if (limits.rateLimitPerMinute === 0) return null;
  const buckets = new TokenBuckets(limits.rateLimitPerMinute, limits.rateLimitBurst);
  app.addHook('onRequest', (request: FastifyRequest, reply, done) => {
    if (isPublicRoute(request)) return done();
    // Keyed by the token's hash (set by authentication), so no live token sits in this map.
    const seconds = buckets.take(request.credential);
    done(seconds > 0 ? limited(reply, seconds, `rate limit of ${limits.rateLimitPerMinute} requests per minute for this token exceeded; retry in ${seconds}s`) : undefined);
  });
  return buckets;
}
