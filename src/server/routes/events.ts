import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Signal } from '../../core/events/signal.js';
import type { Registry } from '../../core/registry.js';
import { bearerToken } from '../auth.js';
import { replies } from '../schemas.js';

const HEARTBEAT_MS = 15_000;
const POLL_MS = 1000;

/** `shutdown` aborts when the server starts closing: open streams end so the close can finish. */
export function eventRoutes(registry: Registry, signal: Signal, shutdown: AbortSignal = new AbortController().signal): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/events', {
      schema: {
        summary: 'Events after a sequence number, as CloudEvents; with Accept: text/event-stream, a live stream resuming from Last-Event-ID',
        tags: ['events'],
        querystring: Type.Object({
          after: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ events: Type.Array(Type.Unknown()), next_after: Type.Integer() }) }),
      },
    }, async (request, reply) => {
      const wantsStream = (request.headers.accept ?? '').includes('text/event-stream');
      if (!wantsStream) {
        const page = await registry.events.after(request.actor, request.query.after ?? 0, request.query.limit ?? 100);
        return { events: page.events, next_after: page.nextAfter };
      }
      const lastId = request.headers['last-event-id'];
      let cursor = typeof lastId === 'string' && /^\d+$/.test(lastId) ? Number(lastId) : request.query.after;
      // A new subscriber with no position starts from now; one that says where it was misses nothing.
      cursor ??= await registry.events.head(request.actor);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': request.id });
      const closed = new AbortController();
      const stop = () => closed.abort();
      request.raw.on('close', stop);
      if (shutdown.aborted) stop();
      else shutdown.addEventListener('abort', stop, { once: true });
      // A slow reader gets no more than the socket's buffer ahead of it: wait for it to drain.
      const send = async (text: string) => {
        if (!res.write(text)) await new Promise((resolve) => { res.once('drain', resolve); closed.signal.addEventListener('abort', resolve); });
      };
      const token = bearerToken(request);
      let lastWrite = Date.now();
      try {
        await send(': modelgate event stream\n\n');
        while (!closed.signal.aborted) {
          // A token revoked (or a user removed) while streaming ends the stream at the next poll.
          const actor = await registry.identity.authenticate(token);
          const page = await registry.events.after(actor, cursor, 500);
          for (const event of page.events) {
            await send(`id: ${event.sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
            lastWrite = Date.now();
          }
          cursor = page.nextAfter;
          if (page.events.length === 500) continue;
          if (Date.now() - lastWrite >= HEARTBEAT_MS) {
            await send(': keep-alive\n\n');
            lastWrite = Date.now();
          }
          // Commits in this process wake us at once; those of other servers are seen within POLL_MS.
          await signal.wait(POLL_MS, closed.signal);
        }
      } catch (err) {
        request.log.info({ err }, 'event stream ended');
      } finally {
        shutdown.removeEventListener('abort', stop);
        res.end();
      }
    });
  };
}
