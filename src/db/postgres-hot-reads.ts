/**
 * The hot lookups on PostgreSQL (see `hot-reads.ts`): each one round trip (a version's
 * aliases and a model's former names ride along as arrays) and a named prepared statement,
 * so the server parses and plans it once per connection.
 *
 * The epoch is `pg_current_snapshot()`: two equal snapshots have the same set of committed
 * transactions, so nothing was committed in between. Each lookup returns its own statement's
 * snapshot with its row (the snapshot its row was read under), so an answer not remembered
 * costs one round trip. To check a remembered answer, a snapshot taken after the check began
 * is read; checks that begin in the same turn of the event loop share one query, so under load
 * one round trip answers many requests.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { DbCapabilities } from './connect.js';
import { isStalePlan } from './postgres-statement-names.js';
import { hotReads, tokenFromRow, TOKEN_COLUMNS, type Epoch, type HotSource, type Loaded, type TokenRow } from './hot-reads.js';
import type { AliasRecord, AuditHashInput } from '../core/ports.js';
import type { ApiToken, Model, User, Version } from '../core/types.js';
import { KyselyJournalRepository, auditHashInputColumns } from './repositories/journal-repository.js';
import { toModel } from './repositories/model-repository.js';
import { toVersion, type VersionRow } from './repositories/version-repository.js';
import type { Database, ModelsTable } from './schema.js';

const VERSION = 'select v.*, m.name as model_name, array(select alias from aliases a where a.model_id = v.model_id and a.version = v.version order by alias) as alias_list '
  + 'from versions v inner join models m on m.id = v.model_id';
const MODEL = 'select m.*, array(select name from model_former_names f where f.model_id = m.id order by name) as former_list from models m';

/** The lookup's row (or a row of nulls) beside the snapshot the statement read it under. */
const withSnapshot = (lookup: string) =>
  `select s.mg_snapshot, x.* from (select pg_current_snapshot()::text as mg_snapshot) s left join lateral (${lookup}) x on true`;

const SQL = {
  snapshot: 'select pg_current_snapshot()::text as mg_snapshot',
  // By its name, or else by a name it had: one statement, so one snapshot.
  model: withSnapshot(`${MODEL} where m.name = $1 or m.id = (select model_id from model_former_names where name = $1) order by m.name = $1 desc limit 1`),
  version: withSnapshot(`${VERSION} where v.model_id = $1 and v.version = $2 and v.deleted_at is null`),
  newestInStage: withSnapshot(`${VERSION} where v.model_id = $1 and v.stage = $2 and v.deleted_at is null order by v.version desc limit 1`),
  alias: withSnapshot('select alias, version from aliases where model_id = $1 and alias = $2'),
  token: withSnapshot(`select ${TOKEN_COLUMNS} `
    + 'from api_tokens t inner join users u on u.id = t.user_id where t.hash = $1 and t.revoked_at is null'),
};

type VersionWithAliases = VersionRow & { alias_list: string[] };

/**
 * Snapshots read for callers that asked before the read was sent: one query per turn of the
 * event loop. A caller that gives `notBefore` (the arrival of its request) also takes the
 * last read sent after that, under way or done: a request's second check (the answer, after
 * its token) then costs no round trip of its own.
 */
class SharedSnapshot {
  private next: Promise<Epoch> | null = null;
  private sent: { at: number; epoch: Promise<Epoch> } | null = null;

  constructor(private readonly takeTicket: () => number, private readonly query: () => Promise<{ mg_snapshot: string }>) {}

  read(notBefore = Infinity): Promise<Epoch> {
    if (this.sent && this.sent.at >= notBefore) return this.sent.epoch;
    this.next ??= new Promise((resolve) => setImmediate(resolve)).then(() => {
      this.next = null; // whoever asks from now on asks after this query was sent
      const ticket = this.takeTicket();
      const at = performance.now();
      const epoch = this.query().then((row) => ({ ticket, value: row.mg_snapshot }));
      const sent = this.sent = { at, epoch };
      // A read that failed is not handed to later checks: they read again.
      epoch.catch(() => { if (this.sent === sent) this.sent = null; });
      return epoch;
    });
    return this.next;
  }
}

type Snapshotted<R> = Partial<R> & { mg_snapshot: string };

function source(pool: pg.Pool): HotSource {
  // Bumped when the tables changed shape under the prepared statements (another server
  // migrated): each connection then prepares them again under new names.
  let generation = 0;
  // Orders the snapshot reads (lookups and shared checks) by when they were sent.
  let sent = 0;
  const takeTicket = () => ++sent;
  const run = async <R>(name: keyof typeof SQL, values: unknown[]): Promise<Snapshotted<R>> => {
    let result;
    try {
      result = await pool.query({ name: `mg_hot_${generation}_${name}`, text: SQL[name], values });
    } catch (err) {
      if (!isStalePlan(err)) throw err;
      generation += 1;
      result = await pool.query({ text: SQL[name], values });
    }
    return result.rows[0] as Snapshotted<R>;
  };
  /** One lookup: its row, or null when the lookup found none (`present` names a column never null in a found row). */
  const q = async <R, T>(name: Exclude<keyof typeof SQL, 'snapshot'>, values: unknown[], present: keyof R, make: (row: R) => T): Promise<Loaded<T | null>> => {
    const ticket = takeTicket();
    const row = await run<R>(name, values);
    return { value: row[present] === null || row[present] === undefined ? null : make(row as R), epoch: { ticket, value: row.mg_snapshot } };
  };
  const snapshots = new SharedSnapshot(takeTicket, () => run<object>('snapshot', []));
  const version = (row: VersionWithAliases) => toVersion(row, row.alias_list);
  return {
    epoch: (notBefore) => snapshots.read(notBefore),
    modelByName: (name) => q<ModelsTable & { former_list: string[] }, Model>('model', [name], 'id', (row) => toModel(row, row.former_list)),
    version: (modelId, number) => q<VersionWithAliases, Version>('version', [modelId, number], 'id', version),
    newestInStage: (modelId, stage) => q<VersionWithAliases, Version>('newestInStage', [modelId, stage], 'id', version),
    alias: (modelId, alias) => q<{ alias: string; version: number | string }, AliasRecord>('alias', [modelId, alias], 'alias', (row) => ({ alias: row.alias, version: Number(row.version) })),
    token: (hash) => q<TokenRow, { token: ApiToken; user: User }>('token', [hash], 'id', tokenFromRow),
  };
}

/**
 * Audit verify reads the whole chain: as arrays (pg makes no object per row, which was a
 * fifth of verify's time with the collection of them) by a named statement.
 */
class PostgresJournalReads extends KyselyJournalRepository {
  private generation = 0;

  constructor(private readonly pool: pg.Pool, db: Kysely<Database>, caps: DbCapabilities) {
    super(db, caps);
  }

  override async auditHashInputs(afterSeq: number, limit: number): Promise<AuditHashInput[]> {
    const query = { text: `select ${auditHashInputColumns(this.caps)} from audit_log where seq > $1 order by seq limit $2`, values: [afterSeq, limit], rowMode: 'array' as const };
    try {
      return (await this.pool.query<AuditHashInput>({ ...query, name: `mg_audit_hash_${this.generation}` })).rows;
    } catch (err) {
      if (!isStalePlan(err)) throw err;
      this.generation += 1;
      return (await this.pool.query<AuditHashInput>(query)).rows;
    }
  }
}

/** Read repositories for `uow.read` on PostgreSQL: the hot lookups as named prepared statements, remembered per snapshot. */
export function postgresHotReads(pool: pg.Pool, db: Kysely<Database>, caps: DbCapabilities) {
  return { ...hotReads(source(pool), db, caps), journal: new PostgresJournalReads(pool, db, caps) };
}
