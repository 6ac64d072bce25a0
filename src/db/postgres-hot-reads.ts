/**
 * The hot lookups on PostgreSQL (see `hot-reads.ts`): each one round trip (a version's
 * aliases and a model's former names ride along as arrays) and a named prepared statement,
 * so the server parses and plans it once per connection.
 *
 * The epoch is `pg_current_snapshot()`: two equal snapshots have the same set of committed
 * transactions, so nothing was committed in between. A lookup needs a snapshot taken after
 * it began; lookups that begin in the same turn of the event loop share one query, so under
 * load one round trip answers the epoch for many requests.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { DbCapabilities } from './connect.js';
import { isStalePlan } from './postgres-statement-names.js';
import { hotReads, tokenFromRow, TOKEN_COLUMNS, type Epoch, type HotSource, type TokenRow } from './hot-reads.js';
import { toModel } from './repositories/model-repository.js';
import { toVersion, type VersionRow } from './repositories/version-repository.js';
import type { Database, ModelsTable } from './schema.js';

const VERSION = 'select v.*, m.name as model_name, array(select alias from aliases a where a.model_id = v.model_id and a.version = v.version order by alias) as alias_list '
  + 'from versions v inner join models m on m.id = v.model_id';
const MODEL = 'select m.*, array(select name from model_former_names f where f.model_id = m.id order by name) as former_list from models m';

const SQL = {
  snapshot: 'select pg_current_snapshot()::text as snapshot',
  modelByName: `${MODEL} where m.name = $1`,
  modelByFormerName: `${MODEL} where m.id = (select model_id from model_former_names where name = $1)`,
  version: `${VERSION} where v.model_id = $1 and v.version = $2 and v.deleted_at is null`,
  newestInStage: `${VERSION} where v.model_id = $1 and v.stage = $2 and v.deleted_at is null order by v.version desc limit 1`,
  alias: 'select alias, version from aliases where model_id = $1 and alias = $2',
  token: `select ${TOKEN_COLUMNS} `
    + 'from api_tokens t inner join users u on u.id = t.user_id where t.hash = $1 and t.revoked_at is null',
};

type VersionWithAliases = VersionRow & { alias_list: string[] };

/** Snapshots read for callers that asked before the read was sent: one query per turn of the event loop. */
class SharedSnapshot {
  private next: Promise<Epoch> | null = null;
  private sent = 0;

  constructor(private readonly query: (name: 'snapshot') => Promise<{ snapshot: string } | undefined>) {}

  read(): Promise<Epoch> {
    this.next ??= new Promise((resolve) => setImmediate(resolve)).then(async () => {
      this.next = null; // whoever asks from now on asks after this query was sent
      const ticket = ++this.sent;
      const row = await this.query('snapshot');
      return { ticket, value: row!.snapshot };
    });
    return this.next;
  }
}

function source(pool: pg.Pool): HotSource {
  // Bumped when the tables changed shape under the prepared statements (another server
  // migrated): each connection then prepares them again under new names.
  let generation = 0;
  const q = async <R>(name: keyof typeof SQL, values: unknown[] = []): Promise<R | undefined> => {
    let result;
    try {
      result = await pool.query({ name: `mg_hot_${generation}_${name}`, text: SQL[name], values });
    } catch (err) {
      if (!isStalePlan(err)) throw err;
      generation += 1;
      result = await pool.query({ text: SQL[name], values });
    }
    return result.rows[0] as R | undefined;
  };
  const snapshots = new SharedSnapshot((name) => q(name));
  const version = (row: VersionWithAliases | undefined) => (row ? toVersion(row, row.alias_list) : null);
  return {
    epoch: () => snapshots.read(),
    modelByName: async (name) => {
      type Row = ModelsTable & { former_list: string[] };
      const row = (await q<Row>('modelByName', [name])) ?? (await q<Row>('modelByFormerName', [name]));
      return row ? toModel(row, row.former_list) : null;
    },
    version: async (modelId, number) => version(await q<VersionWithAliases>('version', [modelId, number])),
    newestInStage: async (modelId, stage) => version(await q<VersionWithAliases>('newestInStage', [modelId, stage])),
    alias: async (modelId, alias) => {
      const row = await q<{ alias: string; version: number | string }>('alias', [modelId, alias]);
      return row ? { alias: row.alias, version: Number(row.version) } : null;
    },
    token: async (hash) => {
      const row = await q<TokenRow>('token', [hash]);
      return row ? tokenFromRow(row) : null;
    },
  };
}

/** Read repositories for `uow.read` on PostgreSQL: the hot lookups as named prepared statements, remembered per snapshot. */
export function postgresHotReads(pool: pg.Pool, db: Kysely<Database>, caps: DbCapabilities) {
  return hotReads(source(pool), db, caps);
}
