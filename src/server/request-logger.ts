/**
 * Each request's logger. Fastify gives every request a pino child bound to its request id, and
 * pino serializes those bindings when the child is made: about 3 µs a request, a few per cent
 * of a resolve, spent even when nothing of the request is logged. Where request logging is off
 * (level above info), the child is made only when the request logs something, with the same
 * bindings, so a warning or an error still carries its request id.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyChildLoggerFactory } from 'fastify/types/logger.js';

type Bindings = Record<string, unknown>;
type Options = Record<string, unknown>;
type LogFn = (...args: unknown[]) => void;

class LazyChild {
  private made: FastifyBaseLogger | null = null;

  constructor(private readonly parent: FastifyBaseLogger, private readonly bindings: Bindings, private readonly options: Options) {}

  private get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string { return this.made?.level ?? this.parent.level; }
  set level(level: string) { this.real.level = level; }
  fatal(...args: unknown[]): void { this.log('fatal', args); }
  error(...args: unknown[]): void { this.log('error', args); }
  warn(...args: unknown[]): void { this.log('warn', args); }
  // Fastify calls info for every request ("incoming request"): below the level, that must not make the child.
  info(...args: unknown[]): void { this.log('info', args); }
  debug(...args: unknown[]): void { this.log('debug', args); }
  trace(...args: unknown[]): void { this.log('trace', args); }
  silent(): void {}
  child(bindings: Bindings, options?: Options): FastifyBaseLogger { return this.real.child(bindings, options); }
  isLevelEnabled(level: string): boolean { return enabled(this.made ?? this.parent, level); }

  private log(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    if (this.made || enabled(this.parent, level)) (this.real[level] as LogFn)(...args);
  }
}

function enabled(logger: FastifyBaseLogger, level: string): boolean {
  return (logger as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level);
}

/** Whether pino options set a level at which requests are not logged (warn and above). */
export function logsAboveInfo(options: unknown): boolean {
  const level = (options as { level?: unknown } | null | undefined)?.level;
  return typeof options === 'object' && ['warn', 'error', 'fatal', 'silent'].includes(String(level));
}

/** Fastify's `childLoggerFactory`. */
export const requestLogger: FastifyChildLoggerFactory = function requestLogger(logger, bindings, options) {
  // Fastify's no-op logger (logging off) has no isLevelEnabled; a route's own level is left to pino.
  const pino = typeof (logger as unknown as { isLevelEnabled?: unknown }).isLevelEnabled === 'function';
  if (!pino || options.level !== undefined || enabled(logger, 'info')) return logger.child(bindings, options);
  return new LazyChild(logger, bindings, options as Options) as unknown as FastifyBaseLogger;
};
