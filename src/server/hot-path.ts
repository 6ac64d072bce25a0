/**
 * The deploy-time GETs (resolve, and GET of one version) answered in front of Fastify when
 * every part of the answer is already known. Deployment systems ask these thousands of times
 * a minute, and Fastify's request pipeline (request and reply objects, four hooks, routing,
 * validation, serialization) costs more than the answer itself.
 *
 * The hot path replays; it never decides anything on its own. It answers only when:
 * - the token's actor, the version and the answer's bytes are all remembered from an earlier
 *   request through Fastify, and nothing has been committed since (UnitOfWork.recall: on
 *   SQLite, where that is known without waiting);
 * - the request is a plain GET of one of the two routes, in a form whose decoding cannot
 *   differ from Fastify's;
 * - the failed-authentication brake is not holding anyone back and the token's rate limit
 *   allows the request (which takes it, as the Fastify hook would);
 * - requests are not logged one by one, and the server is not shutting down.
 * Otherwise Fastify handles the request, exactly as if the hot path did not exist. The bytes
 * sent are the route's own: it stores them in HotAnswers for the same frozen Version.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compile } from '@fastify/proxy-addr';
import type { Registry } from '../core/registry.js';
import { hashToken } from '../core/services/identity-service.js';
import type { Version } from '../core/types.js';
import { requestId } from './ids.js';
import type { TokenBuckets } from './rate-limit.js';

const JSON_UTF8 = 'application/json; charset=utf-8';

/** What the resolve route sent for a version, per base URL of its download links. */
export interface ResolveAnswer {
  base: string;
  json: string;
  etag: string;
}

/** The bytes the two routes sent for a (frozen, shared) Version: computed once by the route, replayed by the hot path. */
export class HotAnswers {
  readonly resolved = new WeakMap<Version, ResolveAnswer>();
  readonly versions = new WeakMap<Version, string>();
}

export interface HotPathOptions {
  registry: Registry;
  answers: HotAnswers;
  /** The failed-authentication brake and the per-token rate limit, where they are on. */
  failures: TokenBuckets | null;
  rateLimit: TokenBuckets | null;
  closing: AbortSignal;
  trustProxy: boolean | string[];
}

/** A request listener's front half: true when it answered, false to hand the request to Fastify. */
export type HotPath = ((req: IncomingMessage, res: ServerResponse) => boolean) & { served(): number };

export function hotPath(options: HotPathOptions): HotPath {
  const { registry, answers, failures, rateLimit, closing } = options;
  const trusted = options.trustProxy === true ? () => true : options.trustProxy === false ? null : compile(options.trustProxy);
  let served = 0;

  function answer(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url!;
    const query = url.indexOf('?', PREFIX.length);
    const path = query < 0 ? url : url.slice(0, query);
    const slash = path.indexOf('/', PREFIX.length);
    if (slash < 0) return false;
    const name = path.slice(PREFIX.length, slash);
    const rest = path.slice(slash + 1);
    const resolving = rest === 'resolve';
    const number = resolving || !rest.startsWith('versions/') ? '' : rest.slice(9);
    if (!PLAIN_NAME.test(name) || (resolving ? query < 0 : query >= 0 || !NUMBER.test(number))) return false;
    const ref = resolving ? refOf(url.slice(query + 1)) : null;
    if (ref === null && resolving) return false;
    const headers = req.headers;
    if (headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0') return false;

    const authorization = headers.authorization;
    if (authorization === undefined || !BEARER.test(authorization) || (failures && !failures.allFull())) return false;
    const token = authorization.slice(7);
    const credential = hashToken(token);
    if (!registry.identity.rememberedActor(token, credential)) return false;

    const version = ref !== null ? registry.resolver.remembered(name, ref) : registry.versions.remembered(name, Number(number));
    if (!version) return false;
    let resolved: ResolveAnswer | undefined;
    let json: string | undefined;
    if (ref !== null) {
      resolved = answers.resolved.get(version);
      if (resolved?.base !== `${protocolOf(req)}://${hostOf(req)}/api/v1/blobs/`) return false;
    } else {
      json = answers.versions.get(version);
      if (json === undefined) return false;
    }
    // The last check, as it takes from the bucket: when it refuses, Fastify answers 429.
    if (rateLimit && rateLimit.take(credential) > 0) return false;

    served += 1;
    const id = requestId(req);
    if (!resolved) {
      res.writeHead(200, { 'x-request-id': id, 'content-type': JSON_UTF8, 'content-length': Buffer.byteLength(json!) });
      res.end(json);
    } else if (matchesEtag(headers['if-none-match'], resolved.etag)) {
      res.writeHead(304, { 'x-request-id': id, etag: resolved.etag, 'cache-control': 'no-cache' });
      res.end();
    } else {
      res.writeHead(200, { 'x-request-id': id, etag: resolved.etag, 'cache-control': 'no-cache', 'content-type': JSON_UTF8, 'content-length': Buffer.byteLength(resolved.json) });
      res.end(resolved.json);
    }
    return true;
  }

  /** Fastify's request.host and request.protocol (lib/request.js), for the download links' base URL. */
  function forwarded(req: IncomingMessage, header: 'x-forwarded-host' | 'x-forwarded-proto'): string | undefined {
    const value = req.headers[header];
    if (typeof value !== 'string' || value === '' || !trusted || req.socket.remoteAddress === undefined || !trusted(req.socket.remoteAddress, 0)) return undefined;
    const comma = value.lastIndexOf(',');
    return (comma < 0 ? value : value.slice(comma + 1)).trim();
  }
  const hostOf = (req: IncomingMessage) => forwarded(req, 'x-forwarded-host') ?? req.headers.host ?? '';
  const protocolOf = (req: IncomingMessage) => forwarded(req, 'x-forwarded-proto') ?? ('encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http');

  const listener = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' || closing.aborted || !req.url!.startsWith(PREFIX)) return false;
    try {
      return answer(req, res);
    } catch {
      // Such as a database that fails to tell its epoch: Fastify meets the same and says 500.
      return res.headersSent;
    }
  };
  return Object.assign(listener, { served: () => served });
}

const PREFIX = '/api/v1/models/';
/** Names and refs made of characters that no URL decoding changes: Fastify would see them as sent. */
const PLAIN_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const NUMBER = /^[1-9][0-9]{0,9}$/;
const BEARER = /^Bearer \S+$/;

/** The ref of a query string that holds only `ref=<production | staging | @alias | number>`, or null. */
function refOf(query: string): string | null {
  const match = /^ref=(@|%40)?([A-Za-z0-9._-]{1,64})$/.exec(query);
  if (!match) return null;
  return match[1] ? `@${match[2]}` : match[2]!;
}

/** Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks for GET). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
