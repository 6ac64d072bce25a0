/**
 * Raw HTTP for the requests the SDK will not send (malformed JSON, wrong types, odd headers),
 * the check that a failure is rendered as the one error envelope, and a snapshot of everything
 * a user can see, to prove that a rejected request changed nothing.
 */
import { expect } from 'vitest';
import { ApiError } from '../../src/sdk/client.js';
import type { TestServer } from './harness.js';

export interface RawReply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface RawOptions {
  /** The bearer token; the admin's by default, null for none. */
  token?: string | null;
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  /** Sent as is; with `contentType` when given. */
  body?: string | Uint8Array | AsyncIterable<Uint8Array>;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One request with nothing done for the caller: no encoding, no retries, no error parsing. */
export async function raw(t: TestServer, method: string, path: string, options: RawOptions = {}): Promise<RawReply> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? t.adminToken : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: unknown;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.body !== undefined) {
    body = options.body;
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  }
  const streaming = body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array);
  const response = await fetch(t.url + path, { method, headers, body: body as BodyInit, ...(streaming ? { duplex: 'half' } : {}) } as RequestInit);
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export interface ErrorBody {
  code: string;
  message: string;
  details: unknown;
  request_id: string;
}

/**
 * Asserts that a reply is a failure with this status and stable code, rendered as exactly
 * `{ error: { code, message, details, request_id } }`, and returns the error.
 */
export function expectError(reply: RawReply, status: number, code: string): ErrorBody {
  const body = reply.json as { error?: Partial<ErrorBody> } | undefined;
  expect({ status: reply.status, code: body?.error?.code }, `reply body: ${reply.text.slice(0, 300)}`).toEqual({ status, code });
  expect(Object.keys(body!)).toEqual(['error']);
  const error = body!.error as ErrorBody;
  expect(Object.keys(error).sort()).toEqual(['code', 'details', 'message', 'request_id']);
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.details === null || typeof error.details === 'object').toBe(true);
  expect(error.request_id).toMatch(/\S/);
  expect(reply.headers.get('x-request-id')).toBe(error.request_id);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  return error;
}

/** Everything a user could observe having changed: models, versions, aliases, users, tokens, promotions, audit. */
export async function registryState(t: TestServer) {
  const { models } = await t.admin.listModels({ page_size: 1000, include_archived: true });
  const versions: Record<string, unknown[]> = {};
  for (const model of models) versions[model.name] = (await t.admin.listVersions(model.name, { page_size: 1000 })).versions;
  const users = await t.admin.listUsers();
  const tokens = await t.admin.listTokens();
  const { promotions } = await t.admin.listPromotions({ page_size: 1000 });
  const audit = (await t.admin.listAudit({ page_size: 1000 })).entries.length;
  return { models, versions, users, tokens, promotions, audit };
}

export type RegistryState = Awaited<ReturnType<typeof registryState>>;

/** Asserts that nothing is different from `before`, and that the audit chain still verifies. */
export async function expectUnchanged(t: TestServer, before: RegistryState): Promise<void> {
  expect(await registryState(t)).toEqual(before);
  const verification = await t.admin.verifyAudit();
  expect(verification).toMatchObject({ ok: true, entries: before.audit, first_bad_seq: null });
}

/**
 * Runs a request that must be refused with this status and code, and proves it changed nothing.
 * The request is either raw (a RawReply) or an SDK call (which throws ApiError).
 */
export async function expectRejected(t: TestServer, request: () => Promise<unknown>, status: number, code: string): Promise<{ code: string; details: unknown }> {
  const before = await registryState(t);
  let error: { code: string; details: unknown };
  try {
    const reply = await request();
    if (!isRawReply(reply)) throw new Error(`expected ${status} ${code}, but the call succeeded`);
    error = expectError(reply, status, code);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    expect({ status: err.status, code: err.code }, err.message).toEqual({ status, code });
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.requestId).toMatch(/\S/);
    error = { code: err.code, details: err.details };
  }
  await expectUnchanged(t, before);
  return error;
}

function isRawReply(value: unknown): value is RawReply {
  return typeof value === 'object' && value !== null && 'status' in value && 'headers' in value && 'text' in value;
}
