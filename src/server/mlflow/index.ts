/**
 * The MLflow-compatible front door: `/api/2.0/mlflow/...` and `/ajax-api/2.0/mlflow/...`,
 * with MLflow's error shape and status codes. Everything it does goes through the same
 * services as `/api/v1`, so audit, events and governance are the same.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ModelgateError } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import { mlflowError } from './convert.js';
import { closeAfterAnswer } from '../linger.js';
import { mlflowRegistryRoutes } from './registry-routes.js';
import { mlflowArtifactRoutes, mlflowTrackingRoutes } from './tracking-routes.js';

function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  let code: string;
  let message: string;
  if (err instanceof ModelgateError) {
    code = err.code;
    message = err.message;
  } else if (err.validation) {
    code = 'VALIDATION_FAILED';
    message = `Invalid value for parameter ${err.validationContext ?? 'body'}${err.validation[0]?.instancePath ?? ''}: ${err.validation[0]?.message ?? 'invalid'}`;
  } else if (typeof err.statusCode === 'number' && err.statusCode < 500) {
    code = 'VALIDATION_FAILED';
    message = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'Bad request: content type must be application/json' : err.message;
  } else {
    request.log.error({ err }, 'unhandled error in the MLflow API');
    code = 'INTERNAL';
    message = 'internal error';
  }
  closeAfterAnswer(request.raw, reply);
  const { errorCode, status } = mlflowError(code);
  return reply.status(status).send({ error_code: errorCode, message });
}

export async function mlflowRoutes(app: FastifyInstance, registry: Registry): Promise<void> {
  for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
    await app.register(async (scope) => {
      scope.setErrorHandler(errorHandler);
      scope.setNotFoundHandler((request, reply) => reply.status(404).send({
        error_code: 'ENDPOINT_NOT_FOUND', message: `No API endpoint ${request.method} ${request.url.split('?')[0]}`,
      }));
      await scope.register(mlflowRegistryRoutes(registry));
      await scope.register(mlflowTrackingRoutes(registry));
    }, { prefix });
  }
  for (const prefix of ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts']) {
    await app.register(async (scope) => {
      scope.setErrorHandler(errorHandler);
      await scope.register(mlflowArtifactRoutes(registry));
    }, { prefix });
  }
}
