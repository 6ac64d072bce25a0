import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';

export function healthRoutes(ready: () => Promise<boolean>): FastifyPluginAsync {
  return async (app) => {
    const Status = Type.Object({ status: Type.String() });
    app.get('/healthz', { config: { public: true }, schema: { response: { 200: Status } } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { config: { public: true }, schema: { response: { 200: Status, 503: Status } } }, async (_request, reply) => {
      const ok = await ready().catch(() => false);
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'database unavailable' });
    });
  };
}
