/**
 * The deploy-time reads (a token, a model by name, a version by number, stage or alias) as
 * raw prepared better-sqlite3 statements on the read-only connection. Kysely builds and
 * compiles a query in about 15 µs, more than SQLite needs to answer one of these by index;
 * `resolve` makes five of them per request. Same answers as the Kysely repositories they
 * extend (same SQL, same row mappers), used only for reads outside transactions.
 */
import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { AliasRecord } from '../core/ports.js';
import type { ApiToken, Model, Stage, User, Version } from '../core/types.js';
import type { DbCapabilities } from './connect.js';
import { KyselyAliasRepository } from './repositories/alias-repository.js';
import { KyselyTokenRepository, toToken, toUser } from './repositories/identity-repositories.js';
import { KyselyModelRepository, toModel } from './repositories/model-repository.js';
import { KyselyVersionRepository, toVersion, type VersionRow } from './repositories/version-repository.js';
import type { ApiTokensTable, Database, ModelsTable, UsersTable } from './schema.js';

// A version's aliases and a model's former names ride along as JSON arrays: one statement, not two.
const VERSION = 'select v.*, m.name as model_name, (select json_group_array(alias) from '
  + '(select alias from aliases a where a.model_id = v.model_id and a.version = v.version order by alias)) as alias_list '
  + 'from versions v inner join models m on m.id = v.model_id';
const MODEL = 'select m.*, (select json_group_array(name) from (select name from model_former_names f where f.model_id = m.id order by name)) as former_list from models m';

type WithList<T, K extends string> = T & { [key in K]: string };

function statements(db: SQLite.Database) {
  return {
    modelByName: db.prepare<[string], WithList<ModelsTable, 'former_list'>>(`${MODEL} where m.name = ?`),
    modelByFormerName: db.prepare<[string], WithList<ModelsTable, 'former_list'>>(`${MODEL} where m.id = (select model_id from model_former_names where name = ?)`),
    version: db.prepare<[string, number], WithList<VersionRow, 'alias_list'>>(`${VERSION} where v.model_id = ? and v.version = ? and v.deleted_at is null`),
    newestInStage: db.prepare<[string, string], WithList<VersionRow, 'alias_list'>>(`${VERSION} where v.model_id = ? and v.stage = ? and v.deleted_at is null order by v.version desc limit 1`),
    alias: db.prepare<[string, string], { alias: string; version: number }>('select alias, version from aliases where model_id = ? and alias = ?'),
    token: db.prepare<[string], Omit<ApiTokensTable, 'hash'> & { username: string; role: string; groups: string; user_created_at: string; user_created_by: string }>(
      'select t.id, t.user_id, t.name, t.prefix, t.created_at, t.revoked_at, u.username, u.role, u.groups, u.created_at as user_created_at, u.created_by as user_created_by '
      + 'from api_tokens t inner join users u on u.id = t.user_id where t.hash = ? and t.revoked_at is null'),
  };
}

type Statements = ReturnType<typeof statements>;

class HotModels extends KyselyModelRepository {
  constructor(db: Kysely<Database>, caps: DbCapabilities, private readonly s: Statements) { super(db, caps); }

  override async findByName(name: string): Promise<Model | null> {
    const row = this.s.modelByName.get(name) ?? this.s.modelByFormerName.get(name);
    return row ? toModel(row, JSON.parse(row.former_list) as string[]) : null;
  }
}

class HotVersions extends KyselyVersionRepository {
  constructor(db: Kysely<Database>, private readonly s: Statements) { super(db); }

  override async get(modelId: string, version: number, includeDeleted = false): Promise<Version | null> {
    if (includeDeleted) return super.get(modelId, version, true);
    const row = this.s.version.get(modelId, version);
    return row ? toVersion(row, JSON.parse(row.alias_list) as string[]) : null;
  }

  override async newestInStage(modelId: string, stage: Stage): Promise<Version | null> {
    const row = this.s.newestInStage.get(modelId, stage);
    return row ? toVersion(row, JSON.parse(row.alias_list) as string[]) : null;
  }
}

class HotAliases extends KyselyAliasRepository {
  constructor(db: Kysely<Database>, private readonly s: Statements) { super(db); }

  override async get(modelId: string, alias: string): Promise<AliasRecord | null> {
    const row = this.s.alias.get(modelId, alias);
    return row ? { alias: row.alias, version: Number(row.version) } : null;
  }
}

class HotTokens extends KyselyTokenRepository {
  constructor(db: Kysely<Database>, private readonly s: Statements) { super(db); }

  override async findActiveByHash(hash: string): Promise<{ token: ApiToken; user: User } | null> {
    const row = this.s.token.get(hash);
    if (!row) return null;
    const user = toUser({ id: row.user_id, username: row.username, role: row.role, groups: row.groups, created_at: row.user_created_at, created_by: row.user_created_by } as UsersTable);
    return { token: toToken(row), user };
  }
}

/** Read repositories for `uow.read` on SQLite: the hot lookups as prepared statements. */
export function sqliteHotReads(reader: SQLite.Database, db: Kysely<Database>, caps: DbCapabilities) {
  const s = statements(reader);
  return {
    models: new HotModels(db, caps, s),
    versions: new HotVersions(db, s),
    aliases: new HotAliases(db, s),
    tokens: new HotTokens(db, s),
  };
}
