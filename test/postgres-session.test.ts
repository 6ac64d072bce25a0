/** The settings every PostgreSQL connection of modelgate starts with (src/db/connect.ts). */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/connect.js';
import { POSTGRES_URL } from './helpers/harness.js';

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
