import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentToken, presentUser } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import { ctx } from '../auth.js';
import { RoleSchema, TokenReply, UserReply, replies } from '../schemas.js';

export function identityRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/whoami', {
      schema: { summary: 'The user behind the bearer token', tags: ['identity'], response: replies({ 200: UserReply }) },
    }, async (request) => presentUser(await registry.identity.whoami(request.actor)));

    app.post('/users', {
      schema: {
        summary: 'Create a user (admins)',
        tags: ['identity'],
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), role: RoleSchema }, { additionalProperties: false }),
        response: replies({ 201: UserReply }),
      },
    }, async (request, reply) => reply.status(201).send(presentUser(await registry.identity.createUser(ctx(request), request.body))));

    app.patch('/users/:username', {
      schema: {
        summary: "Change a user's role or approver groups (admins)",
        tags: ['identity'],
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: Type.Object({
          role: Type.Optional(RoleSchema),
          groups: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 })),
        }, { additionalProperties: false }),
        response: replies({ 200: UserReply }),
      },
    }, async (request) => presentUser(await registry.identity.updateUser(ctx(request), request.params.username, request.body)));

    app.get('/users', {
      schema: { summary: 'List users (admins)', tags: ['identity'], response: replies({ 200: Type.Object({ users: Type.Array(UserReply) }) }) },
    }, async (request) => ({ users: (await registry.identity.listUsers(request.actor)).map(presentUser) }));

    app.post('/tokens', {
      schema: {
        summary: 'Create an API token; the secret is returned once and only its hash is kept',
        tags: ['identity'],
        body: Type.Object({
          username: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          name: Type.String({ minLength: 1, maxLength: 100 }),
        }, { additionalProperties: false }),
        response: replies({ 201: Type.Object({ ...TokenReply.properties, token: Type.String() }) }),
      },
    }, async (request, reply) => {
      const issued = await registry.identity.createToken(ctx(request), request.body);
      return reply.status(201).send({ ...presentToken(issued.record), token: issued.token });
    });

    app.get('/tokens', {
      schema: {
        summary: 'List tokens (your own; admins: everyone\'s, or one user\'s)',
        tags: ['identity'],
        querystring: Type.Object({ username: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ tokens: Type.Array(TokenReply) }) }),
      },
    }, async (request) => ({ tokens: (await registry.identity.listTokens(request.actor, request.query.username)).map(presentToken) }));

    app.delete('/tokens/:id', {
      schema: {
        summary: 'Revoke a token',
        tags: ['identity'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: replies({ 200: TokenReply }),
      },
    }, async (request) => presentToken(await registry.identity.revokeToken(ctx(request), request.params.id)));
  };
}
