/**
 * Route schemas compiled when first used instead of all at start-up. Building the Ajv
 * validators and fast-json-stringify serializers of every route (and of the HEAD twin of
 * every GET) was most of the time between `serve` and ready (3.2 of 4.6 s on a loaded
 * machine), and holding them all took 25 MB that a deployment using a dozen routes never
 * needs. Each compiler returns a stand-in that compiles on its first call (a route's first
 * request pays a few milliseconds once). `compileAll` compiles what is left, for the test
 * that proves every schema compiles.
 */
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifySchemaValidationError, FastifyServerOptions } from 'fastify';

type Validate = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };
type Serialize = (doc: unknown) => string;

export class LazySchemas {
  private readonly pending: (() => void)[] = [];

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

  /** Compiles every schema not compiled yet; returns how many schemas it went through (the first call: all). Throws the first failure. */
  compileAll(): number {
    const pending = this.pending.splice(0);
    for (const build of pending) build();
    return pending.length;
  }
}
