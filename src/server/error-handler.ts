/** Renders every failure as `{ error: { code, message, details, request_id } }`. 5xx never leak internals. */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ModelgateError } from '../core/errors.js';
import { errorStatus } from './error-status.js';

/** Fastify's own errors, by code, as core errors. */
function fromFastify(err: FastifyError): ModelgateError | null {
  if (err.validation) {
    const problems = err.validation.map((v) => ({
      field: `${err.validationContext ?? 'body'}${v.instancePath || ''}`,
      problem: v.keyword === 'additionalProperties'
        ? `unknown field ${JSON.stringify((v.params as { additionalProperty?: string }).additionalProperty)}`
        : v.message ?? 'is invalid',
    }));
    const first = problems[0]!;
    return new ModelgateError('VALIDATION_FAILED', `${first.field} ${first.problem}`, { problems });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ModelgateError('MALFORMED_JSON', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ModelgateError('PAYLOAD_TOO_LARGE', 'the request body is larger than this endpoint accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ModelgateError('UNSUPPORTED_MEDIA_TYPE', `content type ${JSON.stringify(err.message.split(': ')[1] ?? '')} is not accepted here`);
    default:
      break;
  }
  if (err instanceof SyntaxError) return new ModelgateError('MALFORMED_JSON', 'the request body is not valid JSON');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new ModelgateError('VALIDATION_FAILED', err.message);
  }
  return null;
}

/** How long, and for how many more body bytes, a refused request's connection stays open. */
const LINGER_MS = 5_000;
const LINGER_BYTES = 64 * 1024 * 1024;

/**
 * Closes the connection of a request refused before its body was read, after the answer and
 * once the client stops sending (or LINGER_MS or LINGER_BYTES are past). Closing a socket with
 * bytes unread makes the kernel reset it, and a client still writing its body (many write it
 * all before reading: Python's requests, curl with a file) then loses the answer to a broken pipe.
 */
function lingerThenClose(request: IncomingMessage): void {
  // (Null once the client is gone: nothing to wait for.)
  const socket = request.socket as Socket | null;
  if (!socket || socket.destroyed) return;
  let bytes = 0;
  // Read and dropped, until the cap.
  request.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > LINGER_BYTES) socket.destroy();
  });
  request.on('error', () => { /* the client went away: nothing to answer */ });
  // (A body parser that gave up may have paused it; a 'data' listener alone does not resume it then.)
  request.resume();
  // Node calls this once the answer to a `connection: close` request is written.
  socket.destroySoon = function lingering(this: Socket) {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // A request body left unread (an upload refused half way, or before it began) cannot be
  // skipped on a kept-alive connection: the client's next request on it would hang. Close it,
  // after the answer, once the client stops sending.
  if (!request.raw.complete) {
    reply.header('connection', 'close');
    lingerThenClose(request.raw);
  }
  const known = err instanceof ModelgateError ? err : fromFastify(err);
  if (!known) {
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({
      error: { code: 'INTERNAL', message: 'internal error; the request id identifies it in the server log', details: null, request_id: request.id },
    });
  }
  const status = errorStatus[known.code];
  if (status >= 500) request.log.error({ err }, known.message);
  return reply.status(status).send({
    error: { code: known.code, message: known.message, details: known.details ?? null, request_id: request.id },
  });
}
