/**
 * The authorization matrix: every route the server registers (read from Fastify's route table)
 * called as every role and anonymously, against the table in docs/authorization.md. A route
 * without a row fails; a row without a route fails; a role allowed where the table says no,
 * or refused where it says yes, fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../src/sdk/client.js';
import { startTestServer, type TestServer } from './helpers/harness.js';
import { buildFixture, matrixKey, sample, type Caller, type Fixture } from './helpers/route-samples.js';

type Least = Role | 'public';
const RANK: Record<Least, number> = { public: -1, viewer: 0, contributor: 1, approver: 2, admin: 3 };
const CALLERS = ['anonymous', 'viewer', 'contributor', 'approver', 'admin'] as const;
/** Codes that mean "not allowed to do this"; others (self-approval, stale, conflict, ...) are governance or state. */
const REFUSALS = new Set(['ROLE_REQUIRED', 'FORBIDDEN', 'APPROVER_NOT_ELIGIBLE', 'PERMISSION_DENIED', 'UNAUTHENTICATED']);

interface Row { method: string; route: string; least: Least; hidden: boolean }

function readMatrix(): Map<string, Row> {
  const text = readFileSync(join(import.meta.dirname, '..', 'docs', 'authorization.md'), 'utf8');
  const rows = new Map<string, Row>();
  for (const line of text.split('\n')) {
    const m = /^\| (GET|POST|PUT|PATCH|DELETE) \| (\S+) \| (public|viewer|contributor|approver|admin) \| (.*)\|$/.exec(line);
    if (m) rows.set(`${m[1]} ${m[2]}`, { method: m[1]!, route: m[2]!, least: m[3] as Least, hidden: /\bhidden\b/.test(m[4]!) });
  }
  return rows;
}


describe('authorization matrix (docs/authorization.md)', () => {
  let t: TestServer;
  let fx: Fixture;
  const tokens: Partial<Record<Caller, string>> = {};

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    const a = t.admin;
    tokens.admin = t.adminToken;
    for (const role of ['viewer', 'contributor', 'approver'] as const) {
      await a.createUser({ username: `the-${role}`, role });
      tokens[role] = (await a.createToken({ username: `the-${role}`, name: 'matrix' })).token;
    }
    await a.createUser({ username: 'someone', role: 'viewer' });
    fx = await buildFixture(t);
  });
  afterAll(async () => { await t.close(); });

  it('every route the server registers has a row, and every row a route', () => {
    const matrix = readMatrix();
    const routes = t.server.app.routeTable;
    const missing = [...new Set(routes.map((r) => matrixKey(r.method, r.url)))].filter((k) => !matrix.has(k));
    expect(missing, 'routes with no row in docs/authorization.md').toEqual([]);
    const keys = new Set(routes.map((r) => matrixKey(r.method, r.url)));
    expect([...matrix.keys()].filter((k) => !keys.has(k)), 'rows with no route').toEqual([]);
  });

  it('every route answers every role as the table says', async () => {
    const matrix = readMatrix();
    const wrong: string[] = [];
    for (const { method, url } of t.server.app.routeTable) {
      const row = matrix.get(matrixKey(method, url));
      if (!row) continue;
      for (const caller of CALLERS) {
        const call = sample(method, url, fx, caller);
        const headers: Record<string, string> = {};
        if (caller !== 'anonymous') headers.authorization = `Bearer ${tokens[caller]}`;
        if (call.raw) headers['content-type'] = 'application/octet-stream';
        else if (call.body !== undefined) headers['content-type'] = 'application/json';
        const res = await fetch(`${t.url}${call.path}`, { method, headers, body: call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body)) });
        const text = method === 'HEAD' ? '' : await res.text();
        let code = '';
        try { const parsed = JSON.parse(text); code = parsed.error?.code ?? parsed.error_code ?? ''; } catch { /* not JSON */ }
        const allowed = row.least === 'public' || (caller !== 'anonymous' && RANK[caller] >= RANK[row.least]);
        const refused = res.status === 401 || (res.status === 403 && (method === 'HEAD' || REFUSALS.has(code)));
        const describe = `${method} ${url} as ${caller}: ${res.status} ${code}`;
        if (res.status >= 500) wrong.push(`${describe} (server error)`);
        else if (allowed && refused) wrong.push(`${describe} (table: ${row.least} may)`);
        else if (!allowed) {
          const hiddenOk = row.hidden && caller !== 'anonymous' && res.status === 404;
          const expected = caller === 'anonymous' ? res.status === 401 : refused || hiddenOk;
          if (!expected) wrong.push(`${describe} (table: needs ${row.least})`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});
