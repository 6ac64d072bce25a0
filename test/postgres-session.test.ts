/** The settings every PostgreSQL connection of modelgate starts with (src/db/connect.ts). */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/connect.js';
import { withNamedStatements } from '../src/db/postgres-statement-names.js';
import { POSTGRES_URL, startTestServer, uploadFile } from './helpers/harness.js';

async function settings(url: string): Promise<Record<string, string>> {
  const schema = `mg_session_${randomBytes(4).toString('hex')}`;
  const handle = await openDatabase(url, { schema });
  try {
    const { rows } = await sql<Record<string, string>>`select current_setting('jit') as jit, current_setting('random_page_cost') as random_page_cost, current_schema() as schema`.execute(handle.db);
    return rows[0]!;
  } finally {
    await sql.raw(`drop schema ${schema} cascade`).execute(handle.db);
    await handle.close();
  }
}

describe.runIf(POSTGRES_URL)('PostgreSQL sessions', () => {
  it('start without JIT, with random_page_cost 1.1, in the schema asked for', async () => {
    expect(await settings(POSTGRES_URL!)).toMatchObject({ jit: 'off', random_page_cost: '1.1', schema: expect.stringMatching(/^mg_session_/) });
  });

  it('let settings in the URL options win', async () => {
    const url = `${POSTGRES_URL}${POSTGRES_URL!.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c random_page_cost=2')}`;
    expect(await settings(url)).toMatchObject({ jit: 'off', random_page_cost: '2' });
  });
});

describe.runIf(POSTGRES_URL)('PostgreSQL prepared statements', () => {
  it('are named from their second run, except those opening with a comment, planned for their values each time', async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    const client = await withNamedStatements(pool).connect();
    try {
      for (let i = 0; i < 3; i++) {
        expect((await client.query('select 1 + $1::int as n', [i])).rows).toEqual([{ n: 1 + i }]);
        expect((await client.query('/* planned per call */ select 2 + $1::int as n', [i])).rows).toEqual([{ n: 2 + i }]);
      }
      const { rows } = await client.query<{ statement: string }>('select statement from pg_prepared_statements', []);
      expect(rows.map((r) => r.statement)).toEqual(['select 1 + $1::int as n']);
    } finally {
      client.release();
      await pool.end();
    }
  });

  it('keep answering after another server adds a column under them', async () => {
    const t = await startTestServer('postgres');
    try {
      await t.admin.createModel({ name: 'churn' });
      const file = await uploadFile(t.admin, 'w.bin', 'weights');
      await t.admin.createVersion('churn', { files: [file], metrics: { auc: 0.9 } });
      // Every lookup enough times that each connection has prepared its statements.
      for (let i = 0; i < 30; i++) {
        await t.admin.getVersion('churn', 1);
        await t.admin.listVersions('churn', { filter: ['metrics.auc >= 0.5'] });
        await t.admin.resolve('churn', '1');
      }
      // What a newer server's migration does while this one runs.
      await t.sql('ALTER TABLE versions ADD COLUMN later_column text');
      await t.sql('ALTER TABLE models ADD COLUMN later_column text');
      for (let i = 0; i < 30; i++) {
        expect((await t.admin.getVersion('churn', 1)).version).toBe(1);
        expect((await t.admin.listVersions('churn', { filter: ['metrics.auc >= 0.5'] })).versions).toHaveLength(1);
        expect((await t.admin.resolve('churn', '1'))?.resolved.version).toBe(1);
      }
      expect((await t.admin.createVersion('churn', { files: [file] })).version).toBe(2);
    } finally {
      await t.close();
    }
  });
});
