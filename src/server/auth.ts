/** Bearer-token authentication for every route except those marked `config: { public: true }`. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../core/errors.js';
import type { RequestContext } from '../core/journal.js';
import type { Registry } from '../core/registry.js';
import type { Actor } from '../core/types.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}

export function registerAuth(app: FastifyInstance, registry: Registry): void {
  app.decorateRequest('actor', null as unknown as Actor);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public) return;
    request.actor = await registry.identity.authenticate(bearerToken(request));
  });
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
