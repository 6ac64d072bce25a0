/** Renders every failure as `{ error: { code, message, details, request_id } }`. 5xx never leak internals. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ModelgateError } from '../core/errors.js';
import { errorStatus } from './error-status.js';
import { closeAfterAnswer } from './linger.js';

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

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // A request body left unread (an upload refused half way, or before it began) cannot be
  // skipped on a kept-alive connection: the client's next request on it would hang. Closed
  // after the answer, once the client stops sending (linger.ts).
  closeAfterAnswer(request.raw, reply);
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
