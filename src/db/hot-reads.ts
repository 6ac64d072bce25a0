/**
 * The deploy-time reads (a token, a model by name, a version by number, stage or alias) behind
 * the same repository ports as the Kysely repositories they extend, for `uow.read` only (reads
 * outside transactions). Each backend supplies the lookups as prepared statements
 * (`sqlite-hot-reads.ts`, `postgres-hot-reads.ts`) and an epoch: a value read from the
 * database that is equal at two moments only if nothing was committed in between.
 *
 * Answers are remembered per epoch. A lookup first reads the epoch; when it differs from the
 * one the remembered answers were read under, they are all dropped. So an answer is never
 * older than the last commit before the lookup began, whichever server committed: a revoked
 * token, a promotion or a moved alias is seen by the next request everywhere, as without the
 * cache. (The one allowance: on SQLite, writes by another process, which a supported
 * deployment never makes, are seen within a millisecond; see sqlite-hot-reads.ts.)
 * Remembered answers are frozen: callers share them.
 */
import type { Kysely } from 'kysely';
import type { AliasRecord } from '../core/ports.js';
import type { ApiToken, Model, Stage, User, Version } from '../core/types.js';
import type { DbCapabilities } from './connect.js';
import { KyselyAliasRepository } from './repositories/alias-repository.js';
import { KyselyTokenRepository, toToken, toUser } from './repositories/identity-repositories.js';
import { KyselyModelRepository } from './repositories/model-repository.js';
import { KyselyVersionRepository } from './repositories/version-repository.js';
import type { ApiTokensTable, Database, UsersTable } from './schema.js';

type MaybePromise<T> = T | Promise<T>;

/** The token lookup's row: the token and its user, joined. */
export type TokenRow = Omit<ApiTokensTable, 'hash'> & { username: string; role: string; groups: string; user_created_at: string; user_created_by: string };

/** The columns of the token lookup, on both databases. */
export const TOKEN_COLUMNS = 't.id, t.user_id, t.name, t.prefix, t.created_at, t.revoked_at, u.username, u.role, u.groups, u.created_at as user_created_at, u.created_by as user_created_by';

export function tokenFromRow(row: TokenRow): { token: ApiToken; user: User } {
  const user = toUser({ id: row.user_id, username: row.username, role: row.role, groups: row.groups, created_at: row.user_created_at, created_by: row.user_created_by } as UsersTable);
  return { token: toToken(row), user };
}

/** An epoch as read: `ticket` orders the reads (a later read has a larger ticket), `value` is compared. */
export interface Epoch {
  ticket: number;
  value: string | number;
}

/** A lookup's answer and the epoch it was read under: a snapshot taken no earlier than the lookup began. */
export interface Loaded<T> {
  value: T;
  epoch: Epoch;
}

export interface HotSource {
  /**
   * The epoch, read after this call, or after `notBefore` (a `performance.now()` time before
   * this call, such as the arrival of the request being answered): an answer checked against
   * it reflects every commit made before then. A source may hand a read already under way
   * that was sent after `notBefore` to several callers.
   */
  epoch(notBefore?: number): MaybePromise<Epoch>;
  /** Set where the epoch is read without waiting (SQLite): remembered answers can then be recalled synchronously. */
  readonly epochAtOnce?: () => Epoch;
  /**
   * The lookups bring their own epoch (on PostgreSQL the statement's own snapshot, in the same
   * round trip), so an answer that is not remembered costs one read, not an epoch read and then one.
   */
  modelByName(name: string): MaybePromise<Loaded<Model | null>>;
  version(modelId: string, version: number): MaybePromise<Loaded<Version | null>>;
  newestInStage(modelId: string, stage: Stage): MaybePromise<Loaded<Version | null>>;
  alias(modelId: string, alias: string): MaybePromise<Loaded<AliasRecord | null>>;
  token(hash: string): MaybePromise<Loaded<{ token: ApiToken; user: User } | null>>;
}

/**
 * Answers remembered at most, and their approximate size in bytes: past either the memo
 * starts over (a full one is rare: deployments ask about a few hot keys; a model card alone
 * may be a megabyte, hence the byte bound).
 */
const MAX_ENTRIES = 20_000;
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_KEY = 1024;

/** Answers remembered for one epoch of the database. */
export class EpochMemo {
  private epoch: Epoch = { ticket: -1, value: Number.NaN };
  private readonly answers = new Map<string, unknown>();
  private bytes = 0;

  constructor(
    private readonly readEpoch: (notBefore?: number) => MaybePromise<Epoch>,
    private readonly readEpochAtOnce?: () => Epoch,
  ) {}

  /**
   * The answer remembered under `key` if it still holds, known without waiting; otherwise
   * undefined (nothing remembered, something committed since, or an epoch that takes a round
   * trip to read), and the caller takes the way that loads.
   */
  recall<T>(key: string): T | undefined {
    if (!this.readEpochAtOnce || !this.answers.has(key)) return undefined;
    const now = this.readEpochAtOnce();
    if (now.ticket < this.epoch.ticket || now.value !== this.epoch.value) return undefined;
    return this.answers.get(key) as T;
  }

  /**
   * An answer built from lookups (of this memo or not): the epoch is read first (after
   * `notBefore`, see HotSource.epoch), then `load` runs on a miss.
   */
  async get<T>(key: string, load: () => MaybePromise<T>, notBefore?: number): Promise<T> {
    const read = this.readEpoch(notBefore);
    const now = read instanceof Promise ? await read : read;
    if (now.ticket < this.epoch.ticket) return load(); // read before the epoch in force: only a fresh load will do
    if (now.value !== this.epoch.value) {
      this.clear();
      this.epoch = now;
    } else if (this.answers.has(key)) {
      return this.answers.get(key) as T;
    }
    const loaded = load();
    const value = loaded instanceof Promise ? await loaded : loaded;
    // Loaded after `now` was read. Kept only if no later epoch replaced it meanwhile (an epoch's
    // value never comes back once another replaced it).
    if (this.epoch.value === now.value) this.keep(key, value);
    return value;
  }

  /**
   * A lookup that brings its own epoch. Nothing remembered under the key: the lookup runs
   * straight away (no epoch read first). Otherwise the epoch says whether the remembered
   * answer still holds.
   */
  async lookup<T>(key: string, load: () => MaybePromise<Loaded<T>>): Promise<T> {
    if (this.answers.has(key)) {
      const read = this.readEpoch();
      const now = read instanceof Promise ? await read : read;
      if (now.ticket >= this.epoch.ticket && now.value === this.epoch.value && this.answers.has(key)) return this.answers.get(key) as T;
    }
    const loaded = load();
    const { value, epoch } = loaded instanceof Promise ? await loaded : loaded;
    if (epoch.ticket < this.epoch.ticket) return value; // read before the epoch in force: answered, not kept
    if (epoch.value !== this.epoch.value) {
      this.clear();
      this.epoch = epoch;
    }
    this.keep(key, value);
    return value;
  }

  private keep(key: string, value: unknown): void {
    // Keys come from requests (a model name, an alias): one that long is answered, not kept.
    if (key.length > MAX_KEY) return;
    const bytes = 2 * key.length + freezeAndWeigh(value);
    if (this.answers.size >= MAX_ENTRIES || this.bytes + bytes > MAX_BYTES) this.clear();
    this.answers.set(key, value);
    this.bytes += bytes;
  }

  private clear(): void {
    this.answers.clear();
    this.bytes = 0;
  }
}

/** Freezes `value` all the way down and returns roughly how many bytes it holds (what was frozen before counts nothing). */
function freezeAndWeigh(value: unknown): number {
  if (typeof value === 'string') return 16 + value.length;
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return 8;
  Object.freeze(value);
  let bytes = 32;
  for (const inner of Object.values(value)) bytes += 8 + freezeAndWeigh(inner);
  return bytes;
}

class HotModels extends KyselyModelRepository {
  constructor(db: Kysely<Database>, caps: DbCapabilities, private readonly source: HotSource, private readonly memo: EpochMemo) { super(db, caps); }

  override findByName(name: string): Promise<Model | null> {
    return this.memo.lookup(`m\0${name}`, () => this.source.modelByName(name));
  }
}

class HotVersions extends KyselyVersionRepository {
  constructor(db: Kysely<Database>, private readonly source: HotSource, private readonly memo: EpochMemo) { super(db); }

  override get(modelId: string, version: number, includeDeleted = false): Promise<Version | null> {
    if (includeDeleted) return super.get(modelId, version, true);
    return this.memo.lookup(`v\0${modelId}\0${version}`, () => this.source.version(modelId, version));
  }

  override newestInStage(modelId: string, stage: Stage): Promise<Version | null> {
    return this.memo.lookup(`s\0${modelId}\0${stage}`, () => this.source.newestInStage(modelId, stage));
  }
}

class HotAliases extends KyselyAliasRepository {
  constructor(db: Kysely<Database>, private readonly source: HotSource, private readonly memo: EpochMemo) { super(db); }

  override get(modelId: string, alias: string): Promise<AliasRecord | null> {
    return this.memo.lookup(`a\0${modelId}\0${alias}`, () => this.source.alias(modelId, alias));
  }
}

class HotTokens extends KyselyTokenRepository {
  constructor(db: Kysely<Database>, private readonly source: HotSource, private readonly memo: EpochMemo) { super(db); }

  override findActiveByHash(hash: string): Promise<{ token: ApiToken; user: User } | null> {
    return this.memo.lookup(`t\0${hash}`, () => this.source.token(hash));
  }
}

/**
 * The read repositories that answer the hot lookups from `source`, remembered per epoch;
 * `remember` for answers built from them, and `recall` for what `remember` holds now.
 */
export function hotReads(source: HotSource, db: Kysely<Database>, caps: DbCapabilities) {
  const memo = new EpochMemo((notBefore) => source.epoch(notBefore), source.epochAtOnce);
  return {
    models: new HotModels(db, caps, source, memo),
    versions: new HotVersions(db, source, memo),
    aliases: new HotAliases(db, source, memo),
    tokens: new HotTokens(db, source, memo),
    remember: <T>(key: string, load: () => Promise<T>, notBefore?: number) => memo.get(`r\0${key}`, load, notBefore),
    recall: source.epochAtOnce ? <T>(key: string) => memo.recall<T>(`r\0${key}`) : undefined,
  };
}
