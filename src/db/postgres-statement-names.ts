/**
 * Names the statements Kysely sends to PostgreSQL, so each connection parses a repeated
 * statement once and keeps its plan (the analogue of SQLite's statement cache,
 * `sqlite-statement-cache.ts`). Unnamed, every query was parsed and planned again: for the
 * versions search (two EXISTS filters) that was a third of its time.
 *
 * A statement is named the second time its text is seen, and at most MAX_NAMED texts are
 * named per process (texts differ with the length of IN lists, and every connection keeps
 * what it prepared until it closes). Only plain DML with its columns named is: PostgreSQL
 * replans a prepared statement whose tables changed, but refuses to run one whose result
 * would change shape ("cached plan must not change result type"), which `select v.*` does
 * when another server adds a column. Should that happen anyway, names start afresh, and
 * outside a transaction the statement is sent again unnamed (inside one, the transaction fails).
 *
 * A statement that opens with a comment is never named, so it is planned for its parameters'
 * values every time: PostgreSQL switches a named statement to a generic plan once that looks
 * no dearer, and for a query whose best plan depends on the values (impact: which source, how
 * many versions it reached) the generic one can be many times slower.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

const MAX_NAMED = 500;
const MAX_SEEN = 5_000;
/** Plain DML, not opening with a comment. */
const DML = /^\s*(select|insert|update|delete|with)\b/i;
/** `v.*`, `select *`, `returning *`: a result whose shape follows the table's. */
const STAR = /\.\*|\b(select|returning)\s+\*/i;

/** PostgreSQL's answer to a prepared statement whose tables changed shape since it was prepared. */
export function isStalePlan(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  return code === '0A000' && /cached plan/.test(message ?? '');
}

export function withNamedStatements(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const seenOnce = new Set<string>();
  let generation = 0;

  const nameOf = (text: string): string | undefined => {
    const known = names.get(text);
    if (known !== undefined || names.size >= MAX_NAMED || !DML.test(text) || STAR.test(text)) return known;
    if (!seenOnce.has(text)) {
      if (seenOnce.size >= MAX_SEEN) seenOnce.clear();
      seenOnce.add(text);
      return undefined;
    }
    seenOnce.delete(text);
    const name = `mg_${generation}_${createHash('sha1').update(text).digest('base64url')}`;
    names.set(text, name);
    return name;
  };

  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    // Kysely opens and ends its transactions with these statements on the same client.
    let inTransaction = false;
    return {
      query: ((text: unknown, values?: ReadonlyArray<unknown>) => {
        if (typeof text !== 'string') return client.query(text as pg.Submittable);
        const head = text.trimStart().slice(0, 12).toLowerCase();
        if (head.startsWith('begin') || head.startsWith('start trans')) inTransaction = true;
        else if (head.startsWith('commit') || (head.startsWith('rollback') && !/^rollback\s+to/.test(head))) inTransaction = false;
        const name = nameOf(text);
        if (name === undefined) return client.query(text, values as unknown[]);
        return client.query({ name, text, values: values as unknown[] }).catch((err: unknown) => {
          if (!isStalePlan(err)) throw err;
          // Prepared before the tables changed: names start afresh. Outside a transaction this
          // statement goes again unnamed; inside one the transaction has failed, and fails.
          names.clear();
          generation += 1;
          if (inTransaction) throw err;
          return client.query(text, values as unknown[]);
        });
      }) as unknown as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy),
    };
  };

  return {
    async connect() {
      const client = await pool.connect();
      let view = wrapped.get(client);
      if (!view) wrapped.set(client, view = wrap(client));
      return view;
    },
    end: () => pool.end(),
  };
}
