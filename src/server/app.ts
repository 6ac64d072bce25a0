/**
 * buildApp: the HTTP face of the registry. Reads no environment; main.ts wires the adapters
 * and passes them in, tests call it directly and use `app.inject`.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance } from 'fastify';
import { ModelgateError } from '../core/errors.js';
import { Signal } from '../core/events/signal.js';
import type { Registry } from '../core/registry.js';
import { registerAuth } from './auth.js';
import { LazySchemas } from './lazy-schemas.js';
import { mlflowRoutes } from './mlflow/index.js';
import { errorHandler } from './error-handler.js';
import { auditRoutes } from './routes/audit.js';
import { blobRoutes } from './routes/blobs.js';
import { healthRoutes } from './routes/health.js';
import { identityRoutes } from './routes/identity.js';
import { lineageRoutes } from './routes/lineage.js';
import { modelRoutes } from './routes/models.js';
import { aliasRoutes } from './routes/aliases.js';
import { governanceRoutes } from './routes/governance.js';
import { promotionRoutes } from './routes/promotions.js';
import { deploymentRoutes } from './routes/deployments.js';
import { eventRoutes } from './routes/events.js';
import { versionRoutes } from './routes/versions.js';
import { webhookRoutes } from './routes/webhooks.js';
import { registerWebUi } from './web-ui.js';

export interface AppOptions {
  registry: Registry;
  /** Fired when events are committed in this process, for the event stream. */
  signal?: Signal;
  /** Pino logger options, or false for none (tests). */
  logger?: boolean | object;
  /** Whether the database answers, for /readyz. */
  ready?: () => Promise<boolean>;
  version?: string;
  /** The built web UI's directory (index.html, assets/), served at `/`; no UI when unset. */
  webRoot?: string;
}

export type App = FastifyInstance;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(options: AppOptions): Promise<App> {
  const schemas = new LazySchemas();
  const app = Fastify({
    schemaController: { compilersFactory: { buildSerializer: schemas.serializerFactory() } },
    logger: options.logger ?? false,
    bodyLimit: 8 * 1024 * 1024,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { maxParamLength: 512 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are validated strictly (no coercion, no silent stripping of unknown fields, and no
  // Infinity, which JSON.parse makes of 1e400); query strings and path parameters arrive as
  // text and are coerced to their declared types.
  const strict = new Ajv({ allErrors: false, removeAdditional: false, coerceTypes: false, useDefaults: false, strict: false, strictNumbers: true });
  const coercing = new Ajv({ allErrors: false, removeAdditional: false, coerceTypes: 'array', useDefaults: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => schemas.validator(() => (httpPart === 'body' ? strict : coercing).compile(schema) as (data: unknown) => boolean));
  schemas.warmAfterListen(app, (err) => app.log.error({ err }, 'a route schema does not compile'));

  // Every body is JSON (or octet-stream for blobs); text/plain would reach the schema as a string.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request) => {
    throw new ModelgateError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
  });
  // Set when the request arrives (a callback hook: no promise per request); errors keep it.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'modelgate', version: options.version ?? '0.0.0', description: 'A model registry built for governance.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  registerAuth(app, options.registry);
  await app.register(healthRoutes(options.ready ?? (async () => true)));
  await app.register(async (api) => {
    await api.register(identityRoutes(options.registry));
    await api.register(modelRoutes(options.registry));
    await api.register(versionRoutes(options.registry));
    await api.register(aliasRoutes(options.registry));
    await api.register(promotionRoutes(options.registry));
    await api.register(governanceRoutes(options.registry));
    await api.register(blobRoutes(options.registry));
    await api.register(auditRoutes(options.registry));
    await api.register(webhookRoutes(options.registry));
    await api.register(lineageRoutes(options.registry));
    await api.register(deploymentRoutes(options.registry));
    await api.register(eventRoutes(options.registry, options.signal ?? new Signal()));
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }, { prefix: '/api/v1' });
  await mlflowRoutes(app, options.registry);
  if (options.webRoot) await registerWebUi(app, options.webRoot);

  await app.ready();
  return app;
}
