/** Users, API tokens and authentication. Tokens are shown once and stored only as hashes. */
import { SYSTEM_ACTOR, hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { sha256Hex } from '../digest.js';
import { errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { checkUsername } from '../names.js';
import type { Repositories } from '../ports.js';
import { presentToken, presentUser } from '../present.js';
import { Roles, type Actor, type ApiToken, type Role, type User } from '../types.js';
import type { ChangeLog } from '../journal.js';

export interface IssuedToken {
  token: string;
  record: ApiToken;
}

const TOKEN_PREFIX = 'mgt_';

export function hashToken(token: string): string {
  return sha256Hex(token);
}

const isTokenShaped = (token: string) => token.startsWith(TOKEN_PREFIX) && token.length <= 200;
const actorKey = (hash: string) => `actor\0${hash}`;

export class IdentityService {
  constructor(private readonly deps: CoreDeps) {}

  /**
   * On an empty registry, creates the `admin` user and its first token. Returns the token,
   * or null when users already exist. Safe when several servers start at once.
   */
  async bootstrap(): Promise<string | null> {
    const ctx: RequestContext = { actor: SYSTEM_ACTOR, requestId: null };
    return change(this.deps, ctx, async (repos, log) => {
      await repos.journal.lockHead();
      if ((await repos.users.count()) > 0) return null;
      const user = await this.insertUser(repos, log, 'admin', 'admin', 'system');
      const issued = await this.issueToken(repos, log, user, 'bootstrap');
      return issued.token;
    });
  }

  /**
   * The actor behind a bearer token, or UNAUTHENTICATED; `hash` is `hashToken(token)`, for a
   * caller that computed it already. Remembered until the next commit, like `resolve`;
   * `notBefore` as for UnitOfWork.remember.
   */
  async authenticate(token: string, hash = hashToken(token), notBefore?: number): Promise<Actor> {
    if (!isTokenShaped(token)) throw errors.unauthenticated('the bearer token is not a modelgate token');
    const load = async (): Promise<Actor> => {
      const found = await this.deps.uow.read.tokens.findActiveByHash(hash);
      if (!found) throw errors.unauthenticated('the bearer token is unknown or revoked');
      return { userId: found.user.id, username: found.user.username, role: found.user.role, groups: found.user.groups };
    };
    return this.deps.uow.remember ? this.deps.uow.remember(actorKey(hash), load, notBefore) : load();
  }

  /**
   * The actor `authenticate` answered for this token, if that answer still holds and is known
   * without waiting (see UnitOfWork.recall); undefined when only `authenticate` can tell.
   */
  rememberedActor(token: string, hash: string): Actor | undefined {
    return isTokenShaped(token) ? this.deps.uow.recall?.<Actor>(actorKey(hash)) : undefined;
  }

  async createUser(ctx: RequestContext, input: { username: string; role: Role }): Promise<User> {
    requireRole(ctx.actor, 'admin', 'creating a user');
    checkUsername(input.username);
    if (!Roles.includes(input.role)) throw errors.validation(`role must be one of ${Roles.join(', ')}`);
    return change(this.deps, ctx, async (repos, log) => {
      if (await repos.users.findByUsername(input.username)) throw errors.userExists(input.username);
      return this.insertUser(repos, log, input.username, input.role, ctx.actor.username).catch((err: unknown) => {
        throw (err as { code?: string }).code === 'CONFLICT' ? errors.userExists(input.username) : err;
      });
    });
  }

  /** Changes a user's role or approver groups (admins). */
  async updateUser(ctx: RequestContext, username: string, input: { role?: Role; groups?: string[] }): Promise<User> {
    requireRole(ctx.actor, 'admin', 'changing a user');
    if (input.role !== undefined && !Roles.includes(input.role)) throw errors.validation(`role must be one of ${Roles.join(', ')}`);
    for (const group of input.groups ?? []) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(group)) throw errors.invalidName('group', group, '1-64 of A-Z a-z 0-9 . _ -');
    }
    return change(this.deps, ctx, async (repos, log) => {
      const user = await repos.users.findByUsername(username);
      if (!user) throw errors.userNotFound(username);
      if (user.role === 'admin' && input.role !== undefined && input.role !== 'admin') {
        await repos.journal.lockHead();
        const admins = (await repos.users.list()).filter((u) => u.role === 'admin');
        if (admins.length <= 1) throw errors.conflict(`${username} is the last admin; make someone else admin first`, { username });
      }
      const groups = input.groups === undefined ? undefined : [...new Set(input.groups)].sort();
      await repos.users.update(user.id, { role: input.role, groups });
      const after: User = { ...user, role: input.role ?? user.role, groups: groups ?? user.groups };
      log.record({
        action: 'user.updated', resource: `users/${username}`, subject: '',
        changes: {
          ...(input.role !== undefined && input.role !== user.role ? { role: { from: user.role, to: input.role } } : {}),
          ...(groups !== undefined ? { groups: { from: user.groups, to: groups } } : {}),
        },
        data: { user: presentUser(after) },
      });
      return after;
    });
  }

  async listUsers(actor: Actor): Promise<User[]> {
    requireRole(actor, 'admin', 'listing users');
    return this.deps.uow.read.users.list();
  }

  async whoami(actor: Actor): Promise<User> {
    const user = await this.deps.uow.read.users.findByUsername(actor.username);
    if (!user) throw errors.userNotFound(actor.username);
    return user;
  }

  /** Admins issue tokens for anyone; everyone else only for themselves. */
  async createToken(ctx: RequestContext, input: { username?: string; name: string }): Promise<IssuedToken> {
    const username = input.username ?? ctx.actor.username;
    if (username !== ctx.actor.username) requireRole(ctx.actor, 'admin', 'creating a token for another user');
    if (input.name.trim() === '' || input.name.length > 100) throw errors.validation('token name must be 1-100 characters');
    return change(this.deps, ctx, async (repos, log) => {
      const user = await repos.users.findByUsername(username);
      if (!user) throw errors.userNotFound(username);
      return this.issueToken(repos, log, user, input.name);
    });
  }

  async listTokens(actor: Actor, username?: string): Promise<ApiToken[]> {
    const repos = this.deps.uow.read;
    if (hasRole(actor, 'admin') && username === undefined) return repos.tokens.list();
    const target = username ?? actor.username;
    if (target !== actor.username) requireRole(actor, 'admin', "listing another user's tokens");
    const user = await repos.users.findByUsername(target);
    if (!user) throw errors.userNotFound(target);
    return repos.tokens.list(user.id);
  }

  async revokeToken(ctx: RequestContext, id: string): Promise<ApiToken> {
    return change(this.deps, ctx, async (repos, log) => {
      const token = await repos.tokens.get(id);
      if (!token) throw errors.tokenNotFound(id);
      if (token.username !== ctx.actor.username) requireRole(ctx.actor, 'admin', "revoking another user's token");
      if (token.revokedAt) return token;
      const now = this.deps.clock.now();
      await repos.tokens.revoke(id, now);
      const after = { ...token, revokedAt: now };
      log.record({
        action: 'token.revoked', resource: `tokens/${id}`, subject: '',
        changes: { username: token.username, name: token.name }, data: { token: presentToken(after) },
      });
      return after;
    });
  }

  private async insertUser(repos: Repositories, log: ChangeLog, username: string, role: Role, createdBy: string): Promise<User> {
    const user: User = { id: this.deps.ids.uuid(), username, role, groups: [], createdAt: this.deps.clock.now(), createdBy };
    await repos.users.insert(user);
    log.record({
      action: 'user.created', resource: `users/${username}`, subject: '',
      changes: { username, role }, data: { user: presentUser(user) },
    });
    return user;
  }

  private async issueToken(repos: Repositories, log: ChangeLog, user: User, name: string): Promise<IssuedToken> {
    const token = TOKEN_PREFIX + this.deps.ids.secret(32);
    const record: ApiToken = {
      id: this.deps.ids.uuid(), userId: user.id, username: user.username, name,
      prefix: token.slice(0, 12), createdAt: this.deps.clock.now(), revokedAt: null,
    };
    await repos.tokens.insert({ id: record.id, userId: user.id, name, prefix: record.prefix, hash: hashToken(token), createdAt: record.createdAt });
    log.record({
      action: 'token.created', resource: `tokens/${record.id}`, subject: '',
      changes: { username: user.username, name, prefix: record.prefix }, data: { token: presentToken(record) },
    });
    return { token, record };
  }
}
