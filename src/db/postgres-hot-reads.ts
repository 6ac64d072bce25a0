/**
 * The deploy-time reads on PostgreSQL: the same lookups as `sqlite-hot-reads.ts`, each one
 * round trip (a version's aliases and a model's former names ride along as arrays, where
 * the Kysely repositories take two) and a named prepared statement, so the server parses and
 * plans it once per connection. Used only for reads outside transactions.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { AliasRecord } from '../core/ports.js';
import type { ApiToken, Model, Stage, User, Version } from '../core/types.js';
import type { DbCapabilities } from './connect.js';
import { KyselyAliasRepository } from './repositories/alias-repository.js';
import { KyselyTokenRepository, toToken, toUser } from './repositories/identity-repositories.js';
import { KyselyModelRepository, toModel } from './repositories/model-repository.js';
import { KyselyVersionRepository, toVersion, type VersionRow } from './repositories/version-repository.js';
import type { ApiTokensTable, Database, ModelsTable, UsersTable } from './schema.js';

const VERSION = 'select v.*, m.name as model_name, array(select alias from aliases a where a.model_id = v.model_id and a.version = v.version order by alias) as alias_list '
  + 'from versions v inner join models m on m.id = v.model_id';
const MODEL = 'select m.*, array(select name from model_former_names f where f.model_id = m.id order by name) as former_list from models m';

const SQL = {
  modelByName: `${MODEL} where m.name = $1`,
  modelByFormerName: `${MODEL} where m.id = (select model_id from model_former_names where name = $1)`,
  version: `${VERSION} where v.model_id = $1 and v.version = $2 and v.deleted_at is null`,
  newestInStage: `${VERSION} where v.model_id = $1 and v.stage = $2 and v.deleted_at is null order by v.version desc limit 1`,
  alias: 'select alias, version from aliases where model_id = $1 and alias = $2',
  token: 'select t.id, t.user_id, t.name, t.prefix, t.created_at, t.revoked_at, u.username, u.role, u.groups, u.created_at as user_created_at, u.created_by as user_created_by '
    + 'from api_tokens t inner join users u on u.id = t.user_id where t.hash = $1 and t.revoked_at is null',
};

type Query = <R>(name: keyof typeof SQL, values: unknown[]) => Promise<R | undefined>;

class HotModels extends KyselyModelRepository {
  constructor(db: Kysely<Database>, caps: DbCapabilities, private readonly q: Query) { super(db, caps); }

  override async findByName(name: string): Promise<Model | null> {
    type Row = ModelsTable & { former_list: string[] };
    const row = (await this.q<Row>('modelByName', [name])) ?? (await this.q<Row>('modelByFormerName', [name]));
    return row ? toModel(row, row.former_list) : null;
  }
}

class HotVersions extends KyselyVersionRepository {
  constructor(db: Kysely<Database>, private readonly q: Query) { super(db); }

  override async get(modelId: string, version: number, includeDeleted = false): Promise<Version | null> {
    if (includeDeleted) return super.get(modelId, version, true);
    const row = await this.q<VersionRow & { alias_list: string[] }>('version', [modelId, version]);
    return row ? toVersion(row, row.alias_list) : null;
  }

  override async newestInStage(modelId: string, stage: Stage): Promise<Version | null> {
    const row = await this.q<VersionRow & { alias_list: string[] }>('newestInStage', [modelId, stage]);
    return row ? toVersion(row, row.alias_list) : null;
  }
}

class HotAliases extends KyselyAliasRepository {
  constructor(db: Kysely<Database>, private readonly q: Query) { super(db); }

  override async get(modelId: string, alias: string): Promise<AliasRecord | null> {
    const row = await this.q<{ alias: string; version: number | string }>('alias', [modelId, alias]);
    return row ? { alias: row.alias, version: Number(row.version) } : null;
  }
}

class HotTokens extends KyselyTokenRepository {
  constructor(db: Kysely<Database>, private readonly q: Query) { super(db); }

  override async findActiveByHash(hash: string): Promise<{ token: ApiToken; user: User } | null> {
    const row = await this.q<Omit<ApiTokensTable, 'hash'> & { username: string; role: string; groups: string; user_created_at: string; user_created_by: string }>('token', [hash]);
    if (!row) return null;
    const user = toUser({ id: row.user_id, username: row.username, role: row.role, groups: row.groups, created_at: row.user_created_at, created_by: row.user_created_by } as UsersTable);
    return { token: toToken(row), user };
  }
}

/** Read repositories for `uow.read` on PostgreSQL: the hot lookups as named prepared statements. */
export function postgresHotReads(pool: pg.Pool, db: Kysely<Database>, caps: DbCapabilities) {
  const q: Query = async (name, values) => {
    const result = await pool.query({ name: `mg_hot_${name}`, text: SQL[name], values });
    return result.rows[0];
  };
  return {
    models: new HotModels(db, caps, q),
    versions: new HotVersions(db, q),
    aliases: new HotAliases(db, q),
    tokens: new HotTokens(db, q),
  };
}
