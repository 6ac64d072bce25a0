/**
 * Statements built and compiled once. Kysely builds a query's operation tree and compiles it
 * to SQL on every call: for a version create (a dozen statements) that was a quarter of the
 * server's CPU, more than SQLite spent running them. A statement whose SQL does not depend on
 * its arguments is built here once per database (dialect), with a placeholder standing for
 * each argument, and every later call only binds the arguments to the compiled SQL.
 *
 * `build` must use its arguments only as single values (compared, inserted, assigned): a
 * statement whose shape follows an argument (an `in` list, a column left out of `set` when
 * undefined, an argument turned into JSON inside `build`) is not fixed. One whose argument
 * never reaches the parameters is refused on first use; an `in` list fails as bad SQL; an
 * undefined argument binds NULL (Kysely would leave such a column out). Statements run
 * through the same Kysely executor, connection and transaction as any other.
 */
import { createQueryId, type Compilable, type CompiledQuery, type Insertable, type Kysely, type QueryResult } from 'kysely';
import type { Database } from '../schema.js';

/** Stands for argument `index` while the statement is built. */
class Slot {
  constructor(readonly index: number) {}
}

interface Compiled {
  sql: string;
  query: CompiledQuery['query'];
  /** Each parameter: an argument's index, or a constant the statement itself holds. */
  sources: ({ arg: number } | { constant: unknown })[];
}

export type FixedQuery<A extends unknown[], R> = (db: Kysely<Database>, ...args: A) => Promise<QueryResult<R>>;

export function fixedQuery<A extends unknown[], R>(build: (db: Kysely<Database>, ...args: A) => Compilable<R>): FixedQuery<A, R> {
  // By dialect adapter: one per Kysely instance, shared by its transactions.
  const compiled = new WeakMap<object, Compiled>();
  return async (db, ...args) => {
    const executor = db.getExecutor();
    // A plugin could rewrite the tree per call; none is used, but then the cache would be wrong.
    if (executor.plugins.length > 0) return db.executeQuery(build(db, ...args));
    let statement = compiled.get(executor.adapter);
    if (!statement) {
      statement = compile(db, args.length, build);
      compiled.set(executor.adapter, statement);
    }
    const parameters = statement.sources.map((s) => ('arg' in s ? (args[s.arg] === undefined ? null : args[s.arg]) : s.constant));
    return db.executeQuery<R>({ sql: statement.sql, query: statement.query, parameters, queryId: createQueryId() });
  };
}

function compile<A extends unknown[], R>(db: Kysely<Database>, arity: number, build: (db: Kysely<Database>, ...args: A) => Compilable<R>): Compiled {
  const slots = Array.from({ length: arity }, (_, i) => new Slot(i)) as unknown as A;
  const query = build(db, ...slots).compile();
  const sources = query.parameters.map((p) => (p instanceof Slot ? { arg: p.index } : { constant: p }));
  for (let i = 0; i < arity; i++) {
    if (!sources.some((s) => 'arg' in s && s.arg === i)) {
      throw new Error(`argument ${i} of a fixed query is not one of its parameters: ${query.sql}`);
    }
  }
  return { sql: query.sql, query: query.query, sources };
}

/** The one row a statement must return (as Kysely's executeTakeFirstOrThrow). */
export function onlyRow<R>(result: QueryResult<R>): R {
  const row = result.rows[0];
  if (row === undefined) throw new Error('the statement returned no row');
  return row;
}

/** Rows per fixed multi-row insert at most; bigger inserts go through Kysely as before. */
const FIXED_ROWS = 16;
/** Rows per statement at most (SQLite allows 32,766 parameters, PostgreSQL 65,535). */
const CHUNK = 500;
/** Distinct (table, columns, row count) statements kept at most; the oldest go first. */
const MAX_INSERTS = 1000;
const inserts = new Map<string, FixedQuery<unknown[], unknown>>();

/**
 * Inserts `rows` into `table`: a fixed query per table, column set and row count (up to
 * FIXED_ROWS rows; more go through Kysely in chunks). Columns whose value is undefined are
 * left to their default, as Kysely does.
 */
export async function insertRows<T extends keyof Database & string>(db: Kysely<Database>, table: T, rows: readonly Insertable<Database[T]>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = definedColumns(rows[0]!);
  if (rows.length > FIXED_ROWS || rows.some((row) => definedColumns(row).join() !== columns.join())) {
    for (let i = 0; i < rows.length; i += CHUNK) await db.insertInto(table).values(rows.slice(i, i + CHUNK) as never).execute();
    return;
  }
  const key = `${table}\0${rows.length}\0${columns.join()}`;
  let insert = inserts.get(key);
  if (!insert) {
    const count = rows.length;
    insert = fixedQuery((trx, ...values: unknown[]) => trx.insertInto(table).values(Array.from({ length: count }, (_, r) =>
      Object.fromEntries(columns.map((c, i) => [c, values[r * columns.length + i]]))) as never));
    if (inserts.size >= MAX_INSERTS) inserts.delete(inserts.keys().next().value!);
    inserts.set(key, insert);
  }
  const values: unknown[] = [];
  for (const row of rows) for (const c of columns) values.push((row as Record<string, unknown>)[c]);
  await insert(db, ...values);
}

function definedColumns(row: object): string[] {
  return Object.keys(row).filter((k) => (row as Record<string, unknown>)[k] !== undefined);
}
