/**
 * Route schemas compiled when first used instead of all at start-up. Building the Ajv
 * validators and fast-json-stringify serializers of every route (and of the HEAD twin of
 * every GET) was most of the time between `serve` and ready (3.2 of 4.6 s on a loaded
 * machine). Each compiler now returns a stand-in that compiles on its first call; once the
 * server listens, the rest are compiled a few at a time in idle turns of the event loop, so a
 * broken schema still shows up in the log within seconds, and the first request of a route
 * rarely pays for its compilation.
 */
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifyInstance, FastifySchemaValidationError, FastifyServerOptions } from 'fastify';

type Validate = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };
type Serialize = (doc: unknown) => string;

export class LazySchemas {
  private readonly pending: (() => void)[] = [];
  private stopped = false;

  /** A validator that compiles itself when first called. */
  validator(build: () => Validate): Validate {
    let compiled: Validate | null = null;
    const get = () => (compiled ??= build());
    const stand: Validate = (data) => {
      const fn = get();
      const result = fn(data);
      stand.errors = fn.errors;
      return result;
    };
    this.pending.push(get);
    return stand;
  }

  /** The serializer compiler factory for Fastify's `schemaController` option. */
  serializerFactory(): NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer'] {
    const selector = SerializerSelector();
    return (externalSchemas, options) => {
      const compile = selector(externalSchemas, options as Parameters<typeof selector>[1]);
      return (route: Parameters<typeof compile>[0]) => {
        let compiled: Serialize | null = null;
        const get = () => (compiled ??= compile(route));
        this.pending.push(get);
        return (doc: unknown) => get()(doc);
      };
    };
  }

  /** After listening, compiles what no request has needed yet, one schema per event-loop turn. */
  warmAfterListen(app: FastifyInstance, onError: (err: unknown) => void): void {
    app.addHook('onListen', async () => {
      const next = () => {
        const build = this.pending.shift();
        if (!build || this.stopped) return;
        try {
          build();
        } catch (err) {
          onError(err);
        }
        setImmediate(next);
      };
      setImmediate(next);
    });
    app.addHook('onClose', async () => {
      this.stopped = true;
    });
  }
}
