/** Bearer-token authentication for every route except those marked `config: { public: true }`. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../core/errors.js';
import type { RequestContext } from '../core/journal.js';
import type { Registry } from '../core/registry.js';
import { hashToken } from '../core/services/identity-service.js';
import type { Actor } from '../core/types.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
    /** The sha256 of the request's token, once authenticated: what the rate limit counts by. */
    credential: string;
    /** Whether the route is marked public; see isPublicRoute. */
    publicRoute: boolean | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}

export function registerAuth(app: FastifyInstance, registry: Registry): void {
  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('credential', '');
  app.decorateRequest('publicRoute', null);
  app.addHook('onRequest', async (request) => {
    if (isPublicRoute(request)) return;
    // MLflow clients send Basic with a username and password: the password is a modelgate token of that user.
    const basic = basicCredentials(request);
    const token = basic ? basic.password : bearerToken(request);
    request.credential = hashToken(token);
    const actor = await registry.identity.authenticate(token, request.credential, request.arrivedAt);
    if (basic && actor.username !== basic.username) throw errors.unauthenticated('the token does not belong to that username');
    request.actor = actor;
  });
}

/**
 * Whether the request's route is marked `config: { public: true }`. Asked by three hooks per
 * request, and Fastify's `routeOptions` builds a new object on every read: read it once.
 */
export function isPublicRoute(request: FastifyRequest): boolean {
  return (request.publicRoute ??= request.routeOptions.config.public === true);
}

function basicCredentials(request: FastifyRequest): { username: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw errors.unauthenticated('Basic credentials must be username:token');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The bearer token of a request, or UNAUTHENTICATED. */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  // Unknown paths answer 404 to the authenticated and 401 to everyone else, revealing nothing.
  if (!header) throw errors.unauthenticated('send Authorization: Bearer <token>');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw errors.unauthenticated('the Authorization header must be "Bearer <token>"');
  return match[1]!;
}

/** The context a service needs from a request: who is acting, and the id that ties logs to audit. */
export function ctx(request: FastifyRequest): RequestContext {
  return { actor: request.actor, requestId: request.id };
}
