/**
 * Failures the CLI detects itself, before or after talking to the server. They carry a code
 * in the same style as the API's, so `error: <CODE>: <message>` reads the same either way.
 */
import { CommanderError } from 'commander';
import { ApiError } from '../sdk/client.js';

/** Exit code for a command line that cannot be run as given (commander uses the same). */
export const USAGE_EXIT = 2;

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage mistake commander cannot see, such as a missing path or nothing to change. */
export function usageError(message: string): CliError {
  return new CliError('USAGE', message, USAGE_EXIT);
}

/**
 * Prints a failure to stderr and returns the exit code for it. Commander has already printed
 * its own usage errors, so those only map to an exit code.
 */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_EXIT;
  if (err instanceof ApiError) {
    process.stderr.write(`error: ${err.code}: ${err.message}\n`);
    // A request id lets an operator find the server's log line for an internal failure.
    if (err.status >= 500 && err.requestId) process.stderr.write(`(request id ${err.requestId})\n`);
    return 1;
  }
  if (err instanceof CliError) {
    process.stderr.write(`error: ${err.code}: ${err.message}\n`);
    return err.exitCode;
  }
  // Node's own failures (a file that cannot be read, a full disk) carry a code like ENOENT.
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'INTERNAL';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  process.stderr.write(`error: ${code}: ${message}\n`);
  return 1;
}

/** Turns a failed raw response (from the SDK's streaming calls) into the SDK's ApiError. */
export async function apiErrorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let error: { code?: string; message?: string; details?: unknown; request_id?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    // not JSON: reported from the status line below
  }
  return new ApiError(response.status, error?.code ?? `HTTP_${response.status}`,
    error?.message ?? (text.slice(0, 200) || response.statusText), error?.details ?? null, error?.request_id ?? null);
}
