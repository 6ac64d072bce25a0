/**
 * Closing the connection of a request refused before its body was read: after the answer, and
 * only once the client stops sending. Closing a socket with bytes unread makes the kernel reset
 * it, and a client still writing its body (many write it all before reading: Python's
 * requests, curl with a file) would lose the answer to a broken pipe. So the rest of the body is
 * read and dropped, the answer is followed by a FIN, and the socket goes when the client closes
 * its side, or after LINGER_MS, or past LINGER_BYTES. (Node runs no request that arrives on
 * it after the refused one: test/bad-input.test.ts sends one.)
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply } from 'fastify';

const LINGER_MS = 5_000;
const LINGER_BYTES = 64 * 1024 * 1024;

/** Sockets answering a refused request, until they close. */
const lingering = new Set<Socket>();

/**
 * For an error answer: a request whose body is still arriving cannot leave its connection open
 * for another request (the rest of the body is never read), so it is answered with
 * `connection: close`, and the connection lingers as above.
 */
export function closeAfterAnswer(request: IncomingMessage, reply: FastifyReply): void {
  if (request.complete) return;
  reply.header('connection', 'close');
  const socket = request.socket as Socket | null;
  // A body the route's reader abandoned has destroyed the connection already; a request with
  // no body has nothing more to send.
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (!socket || socket.destroyed || !hasBody || lingering.has(socket)) return;
  lingering.add(socket);
  socket.once('close', () => lingering.delete(socket));
  let bytes = 0;
  request.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > LINGER_BYTES) socket.destroy();
  });
  request.on('error', () => { /* the client went away: nothing more to do */ });
  // (A body parser that gave up may have paused it; a 'data' listener alone does not resume it then.)
  request.resume();
  // Node calls this once the answer to a `connection: close` request is written.
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

/** Closes this server's lingering sockets now (at shutdown). */
export function closeLingering(server: Server): void {
  for (const socket of lingering) if ((socket as Socket & { server?: unknown }).server === server) socket.destroy();
}
