/** The one place where driver errors become core errors. */
import { ModelgateError } from '../core/errors.js';

/** SQLite and PostgreSQL report the same failures differently; core sees one code. */
export function translateDbError(err: unknown): unknown {
  if (err instanceof ModelgateError) return err;
  const e = err as { code?: unknown; message?: unknown; constraint?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new ModelgateError('CONFLICT', 'the change conflicts with one made at the same time; retry it', {
      constraint: typeof e.constraint === 'string' ? e.constraint : undefined,
    });
  }
  // PostgreSQL text cannot hold NUL (SQLite can): a value that carries one is bad input, not a fault.
  if (code === '22021' || code === '22P05') {
    return new ModelgateError('VALIDATION_FAILED', 'text may not contain NUL (\\u0000) or characters the database cannot store');
  }
  if (code === '40001' || code === '40P01' || code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT') {
    return new ModelgateError('UNAVAILABLE', 'the database is busy with a conflicting change; retry it');
  }
  if (code === 'ECONNREFUSED' || code === '57P01' || code === '57P03' || code === '08006' || code === '08001' || /Connection terminated/.test(String(e?.message))) {
    return new ModelgateError('UNAVAILABLE', 'the database is unavailable');
  }
  return err;
}

/** Wraps every method of every repository so that driver errors are translated on the way out. */
export function guard<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await value.apply(obj, args);
        } catch (err) {
          throw translateDbError(err);
        }
      };
    },
  });
}
