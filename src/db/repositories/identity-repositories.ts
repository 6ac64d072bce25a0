import type { Kysely } from 'kysely';
import type { TokenRepository, UserRepository } from '../../core/ports.js';
import type { ApiToken, Role, User } from '../../core/types.js';
import type { ApiTokensTable, Database, UsersTable } from '../schema.js';

export class KyselyUserRepository implements UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(user: User): Promise<void> {
    await this.db.insertInto('users').values({
      id: user.id, username: user.username, role: user.role, groups: JSON.stringify(user.groups), created_at: user.createdAt, created_by: user.createdBy,
    }).execute();
  }

  async findByUsername(username: string): Promise<User | null> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async update(id: string, patch: { role?: Role; groups?: string[] }): Promise<void> {
    await this.db.updateTable('users').set({
      ...(patch.role !== undefined && { role: patch.role }),
      ...(patch.groups !== undefined && { groups: JSON.stringify(patch.groups) }),
    }).where('id', '=', id).execute();
  }

  async list(): Promise<User[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

export class KyselyTokenRepository implements TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(t: { id: string; userId: string; name: string; prefix: string; hash: string; createdAt: string }): Promise<void> {
    await this.db.insertInto('api_tokens').values({
      id: t.id, user_id: t.userId, name: t.name, prefix: t.prefix, hash: t.hash, created_at: t.createdAt, revoked_at: null,
    }).execute();
  }

  async findActiveByHash(hash: string): Promise<{ token: ApiToken; user: User } | null> {
    const row = await this.base().where('t.hash', '=', hash).where('t.revoked_at', 'is', null)
      .select(['u.role', 'u.groups', 'u.created_at as user_created_at', 'u.created_by as user_created_by']).executeTakeFirst();
    if (!row) return null;
    return {
      token: toToken(row),
      user: {
        id: row.user_id, username: row.username, role: row.role as Role, groups: JSON.parse(row.groups) as string[],
        createdAt: row.user_created_at, createdBy: row.user_created_by,
      },
    };
  }

  async get(id: string): Promise<ApiToken | null> {
    const row = await this.base().where('t.id', '=', id).executeTakeFirst();
    return row ? toToken(row) : null;
  }

  async list(userId?: string): Promise<ApiToken[]> {
    const rows = await this.base().$if(userId !== undefined, (q) => q.where('t.user_id', '=', userId!))
      .orderBy('t.created_at').orderBy('t.id').execute();
    return rows.map(toToken);
  }

  async revoke(id: string, revokedAt: string): Promise<void> {
    await this.db.updateTable('api_tokens').set({ revoked_at: revokedAt }).where('id', '=', id).execute();
  }

  private base() {
    return this.db.selectFrom('api_tokens as t').innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.user_id', 't.name', 't.prefix', 't.created_at', 't.revoked_at', 'u.username']);
  }
}

export function toUser(row: UsersTable): User {
  return {
    id: row.id, username: row.username, role: row.role as Role, groups: JSON.parse(row.groups) as string[],
    createdAt: row.created_at, createdBy: row.created_by,
  };
}

export function toToken(row: Omit<ApiTokensTable, 'hash'> & { username: string }): ApiToken {
  return {
    id: row.id, userId: row.user_id, username: row.username, name: row.name, prefix: row.prefix,
    createdAt: row.created_at, revokedAt: row.revoked_at,
  };
}
