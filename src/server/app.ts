/**
 * buildApp: the HTTP face of the registry. Reads no environment; main.ts wires the adapters
 * and passes them in, tests call it directly and use `app.inject`.
 */
import type { RequestListener } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance } from 'fastify';
import { ModelgateError } from '../core/errors.js';
import { Signal } from '../core/events/signal.js';
import type { Registry } from '../core/registry.js';
import { registerAuth } from './auth.js';
import { HotAnswers, hotPath } from './hot-path.js';
import { requestId } from './ids.js';
import { LazySchemas } from './lazy-schemas.js';
import { BODY_LIMITS, registerJsonParser } from './body-limits.js';
import { DEFAULT_LIMITS, type ServerLimits } from './config.js';
import { registerAuthFailureLimit, registerRateLimit } from './rate-limit.js';
import { logsAboveInfo, requestLogger } from './request-logger.js';
import { mlflowRoutes } from './mlflow/index.js';
import { errorHandler } from './error-handler.js';
import { closeLingering } from './linger.js';
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
  /** Rate limits and client timeouts; the defaults of `modelgate serve` when left out. */
  limits?: ServerLimits;
}

export type App = FastifyInstance;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * When the request arrived (`performance.now()`): its checks of remembered answers need
     * no read of the database taken later than that (UnitOfWork.remember's `notBefore`).
     */
    arrivedAt: number;
  }
  interface FastifyInstance {
    /** Every route registered, as method and URL pattern (HEAD included), for tests and tools. */
    routeTable: { method: string; url: string }[];
    /** Compiles every route schema not compiled yet (they compile on first use); returns how many. */
    compileAllSchemas(): number;
    /** How many requests hot-path.ts answered in front of Fastify (null when it is off), for tests and tools. */
    hotPathServed(): number | null;
  }
}

export async function buildApp(options: AppOptions): Promise<App> {
  const schemas = new LazySchemas();
  const limits = options.limits ?? DEFAULT_LIMITS;
  const app = Fastify({
    schemaController: { compilersFactory: { buildSerializer: schemas.serializerFactory() } },
    logger: options.logger ?? false,
    // Only where request logging is off; otherwise Fastify's own factory (and its shortcut
    // when there is no logger at all) is the cheaper one.
    ...(logsAboveInfo(options.logger) && { childLoggerFactory: requestLogger }),
    bodyLimit: BODY_LIMITS.json,
    // A client that goes quiet (headers half sent, a body that stopped) loses its connection;
    // one that sends too slowly overall is cut off at the request timeout.
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks the header and request deadlines on this interval (30 s by default).
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs) },
    // Behind a load balancer, the client address (for the failed-authentication limit) is
    // taken from X-Forwarded-For only when the proxy is trusted.
    trustProxy: limits.trustProxy,
    requestIdHeader: false,
    genReqId: requestId,
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { maxParamLength: 512 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const routeTable: { method: string; url: string }[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });
  // Aborted when the server starts closing, so long-lived responses (the event stream) end and
  // let the in-flight requests drain.
  const closing = new AbortController();
  app.addHook('preClose', async () => {
    closing.abort();
    // Node closes the connections idle at the moment of close() only; one that finishes its
    // request afterwards would keep the process alive until the client hangs up. Sweep them.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    closeLingering(app.server);
    app.server.once('close', () => clearInterval(sweep));
  });

  // Bodies are validated strictly (no coercion, no silent stripping of unknown fields, and no
  // Infinity, which JSON.parse makes of 1e400); query strings and path parameters arrive as
  // text and are coerced to their declared types.
  const strict = new Ajv({ allErrors: false, removeAdditional: false, coerceTypes: false, useDefaults: false, strict: false, strictNumbers: true });
  const coercing = new Ajv({ allErrors: false, removeAdditional: false, coerceTypes: 'array', useDefaults: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => schemas.validator(() => (httpPart === 'body' ? strict : coercing).compile(schema) as (data: unknown) => boolean));
  app.decorate('compileAllSchemas', () => schemas.compileAll());

  // Every body is JSON (or octet-stream for blobs); text/plain would reach the schema as a string.
  app.removeContentTypeParser('text/plain');
  registerJsonParser(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request) => {
    throw new ModelgateError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
  });
  // Until the hook below sets it: no read taken before the check will do, as without it.
  app.decorateRequest('arrivedAt', Infinity);
  // Set when the request arrives (a callback hook: no promise per request); errors keep it.
  app.addHook('onRequest', (request, reply, done) => {
    request.arrivedAt = performance.now();
    reply.header('x-request-id', request.id);
    if (closing.signal.aborted) reply.header('connection', 'close');
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

  const failures = registerAuthFailureLimit(app, limits);
  registerAuth(app, options.registry);
  const rateLimit = registerRateLimit(app, limits);
  // Where remembered answers can be checked without waiting (SQLite), and not where every
  // request is logged: the hot path logs nothing.
  const requestsLogged = options.logger === true || (typeof options.logger === 'object' && !logsAboveInfo(options.logger));
  const answers = new HotAnswers();
  const fastifyHandler = app.server.listeners('request');
  let front: ReturnType<typeof hotPath> | null = null;
  if (!requestsLogged && options.registry.deps.uow.recall && fastifyHandler.length === 1) {
    const hot = front = hotPath({ registry: options.registry, answers, failures, rateLimit, closing: closing.signal, trustProxy: limits.trustProxy });
    const handler = fastifyHandler[0] as RequestListener;
    // In front of Fastify's handler on its own server. (A serverFactory would do it too, but
    // Fastify then skips the second binding of a host name with two addresses, as localhost.)
    app.server.removeAllListeners('request');
    app.server.on('request', (req, res) => {
      if (!hot(req, res)) handler(req, res);
    });
  }
  app.decorate('hotPathServed', () => front?.served() ?? null);
  await app.register(healthRoutes(options.ready ?? (async () => true)));
  await app.register(async (api) => {
    await api.register(identityRoutes(options.registry));
    await api.register(modelRoutes(options.registry));
    await api.register(versionRoutes(options.registry, answers));
    await api.register(aliasRoutes(options.registry, answers));
    await api.register(promotionRoutes(options.registry));
    await api.register(governanceRoutes(options.registry));
    await api.register(blobRoutes(options.registry));
    await api.register(auditRoutes(options.registry));
    await api.register(webhookRoutes(options.registry));
    await api.register(lineageRoutes(options.registry));
    await api.register(deploymentRoutes(options.registry));
    await api.register(eventRoutes(options.registry, options.signal ?? new Signal(), closing.signal));
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }, { prefix: '/api/v1' });
  await mlflowRoutes(app, options.registry);
  if (options.webRoot) await registerWebUi(app, options.webRoot);

  await app.ready();
  return app;
}
