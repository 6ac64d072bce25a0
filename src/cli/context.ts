/**
 * Where a command's server and token come from: `--server`/`--token`, then
 * MODELGATE_URL/MODELGATE_TOKEN, then the login stored by `modelgate login`.
 */
import type { Command } from 'commander';
import { ModelgateClient } from '../sdk/client.js';
import { CliError } from './cli-error.js';
import { configPath, normaliseServer, readConfig } from './config.js';

/** The options every command accepts, declared once on the program. */
export interface GlobalOptions {
  server?: string;
  token?: string;
  json?: boolean;
}

/** What a command needs to run: a client, where it points, and how to print. */
export interface Context {
  client: ModelgateClient;
  server: string;
  /** Print the raw API JSON instead of tables. */
  json: boolean;
}

/** The SDK client the CLI uses (the SDK already streams uploads without buffering them). */
export function newClient(url: string, token: string): ModelgateClient {
  return new ModelgateClient({ url, token });
}

/** Reads the global options of the command being run (they may appear anywhere on the line). */
export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Builds the client for a command, or explains how to log in. */
export async function connect(cmd: Command, env: NodeJS.ProcessEnv = process.env): Promise<Context> {
  const opts = globalOptions(cmd);
  const stored = await readConfig(configPath(env));
  // An empty variable (MODELGATE_TOKEN= in a CI file) means unset, not an empty token.
  const given = opts.server || env.MODELGATE_URL || undefined;
  const raw = given ?? stored.server;
  if (!raw) {
    throw new CliError('NOT_LOGGED_IN', 'no server: run `modelgate login --server <url>`, or pass --server or set MODELGATE_URL');
  }
  const server = normaliseServer(raw);
  // The stored token was issued by the stored server: never send it to a different one.
  const storedToken = stored.server !== undefined && normaliseServer(stored.server) === server ? stored.token : undefined;
  const token = opts.token || env.MODELGATE_TOKEN || storedToken;
  if (!token) {
    throw new CliError('NOT_LOGGED_IN', `no token for ${server}: run \`modelgate login --server ${server}\`, or pass --token or set MODELGATE_TOKEN`);
  }
  return { client: newClient(server, token), server, json: opts.json === true };
}
