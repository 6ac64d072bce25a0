/**
 * The ports core needs from the outside world. Adapters in db/ and blobs/ implement them;
 * core never imports a driver. Every method may throw a ModelgateError; adapters translate
 * driver failures (unique violations, lost connections) into core codes before they get here.
 */
import type { DeliveryRepository, WebhookRepository } from './ports-events.js';
import type { DatasetRepository, DeploymentRepository, FeedbackRepository, LineageRepository, TrackingRepository } from './ports-lineage.js';
import type { BlobRecordRepository, UploadRepository } from './ports-blobs.js';
import type {
  ApiToken, AuditEntry, Holding, Lineage, ManifestFile, Model, OutboxEvent, Promotion, RiskTier, Role, Stage, Tags, User, Version,
} from './types.js';

/** A keyset cursor: the sort value and the id of the last row of the previous page. */
export interface Cursor {
  key: string | number;
  id: string;
}

export type ModelSort = 'name' | 'created_at' | 'updated_at';

export interface ModelQuery {
  namePrefix?: string;
  riskTier?: RiskTier;
  /** Only models whose next validation is due before this date (YYYY-MM-DD). */
  validationDueBefore?: string;
  /** Only models with a version in production. */
  inProduction?: boolean;
  /** Only models with a version in this stage. */
  withStage?: Stage;
  tags?: { key: string; value?: string }[];
  includeArchived: boolean;
  sort: ModelSort;
  descending: boolean;
  after?: Cursor;
  limit: number;
}

export interface MetricCondition {
  name: string;
  op: '>=' | '>' | '<=' | '<' | '==' | '!=';
  value: number;
}

export interface VersionQuery {
  stage?: Stage;
  tags?: { key: string; value?: string }[];
  metrics?: MetricCondition[];
  createdAfter?: string;
  /** Versions are listed newest first unless ascending is set. */
  ascending: boolean;
  afterVersion?: number;
  limit: number;
}

export interface NewModel {
  id: string;
  name: string;
  description: string;
  tags: Tags;
  owner: string;
  intendedUse: string;
  restrictions: string;
  riskTier: RiskTier | null;
  inventory: InventoryFields;
  createdBy: string;
  createdAt: string;
}

/** The model-inventory fields a model carries besides its description. */
export type InventoryFields = Pick<Model, 'responsible' | 'validationStatus' | 'lastValidatedAt' | 'nextValidationDue' | 'validityPeriod' | 'policyExceptions'>;

export type ModelPatch = Partial<Pick<Model, 'description' | 'tags' | 'owner' | 'intendedUse' | 'restrictions' | 'riskTier' | 'archived'> & InventoryFields>;

/** Models, their names (current and former) and their per-model version counter. */
export interface ModelRepository {
  insert(model: NewModel): Promise<void>;
  /** Finds a model by its current name or, failing that, by a former name. */
  findByName(name: string): Promise<Model | null>;
  findById(id: string): Promise<Model | null>;
  /** Whether a name is in use, as a current name or as the former name of a renamed model. */
  nameUse(name: string): Promise<'current' | 'former' | null>;
  /**
   * Locks the model's row until the transaction ends, so that stage moves, alias moves
   * and renames of one model are serialised across server processes. Returns false when the
   * database needs no row lock because the transaction already excludes every other writer
   * (SQLite): what the transaction read of the row is then already current.
   */
  lock(id: string): Promise<boolean>;
  update(id: string, patch: ModelPatch, updatedAt: string): Promise<void>;
  /** Renames; the old name keeps resolving to the same model. */
  rename(id: string, oldName: string, newName: string, updatedAt: string): Promise<void>;
  list(query: ModelQuery): Promise<Model[]>;
  /** Atomically takes the next version number of the model: increasing, never reused. */
  takeVersionNumber(id: string): Promise<number>;
}

export interface NewVersion {
  id: string;
  modelId: string;
  /** The model's current name, which the returned version carries. */
  model: string;
  version: number;
  digest: string;
  status: Version['status'];
  stage: Stage;
  files: ManifestFile[];
  sourceUri: string | null;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Tags;
  description: string;
  modelCard: string | null;
  signature: unknown;
  lineage: Lineage;
  createdBy: string;
  createdAt: string;
}

export type VersionPatch = Partial<Pick<Version, 'description' | 'tags' | 'modelCard'>>;

/** Versions of models. Returned versions carry their aliases and the model's current name. */
export interface VersionRepository {
  /** Returns the version as it now reads (no aliases yet), without reading it back. */
  insert(version: NewVersion): Promise<Version>;
  /** A version by number; deleted versions only when includeDeleted is set. */
  get(modelId: string, version: number, includeDeleted?: boolean): Promise<Version | null>;
  list(modelId: string, query: VersionQuery): Promise<Version[]>;
  /** Non-deleted versions of the model currently in the stage. */
  inStage(modelId: string, stage: Stage): Promise<Version[]>;
  /** The highest-numbered non-deleted version in the stage, or null: one row, however many there are. */
  newestInStage(modelId: string, stage: Stage): Promise<Version | null>;
  update(id: string, patch: VersionPatch, updatedAt: string): Promise<void>;
  setStage(id: string, stage: Stage, updatedAt: string): Promise<void>;
  markDeleted(id: string, deletedAt: string): Promise<void>;
  setDegraded(id: string, at: string | null): Promise<void>;
  /** Records that the version left development (first time only), which makes it undeletable. */
  markReleased(id: string, at: string): Promise<void>;
  /** Versions by id (deleted ones included), in no particular order. */
  byIds(ids: string[]): Promise<Version[]>;
}

export interface AliasRecord {
  alias: string;
  version: number;
}

export interface AliasRepository {
  get(modelId: string, alias: string): Promise<AliasRecord | null>;
  /** Creates the alias or moves it to another version. */
  set(modelId: string, alias: string, version: number, updatedAt: string): Promise<void>;
  delete(modelId: string, alias: string): Promise<void>;
  forVersion(modelId: string, version: number): Promise<string[]>;
  /** Every alias of the model. */
  all(modelId: string): Promise<AliasRecord[]>;
  /** Every alias of each of the models, in a few queries whatever their number. */
  ofModels(modelIds: string[]): Promise<(AliasRecord & { modelId: string })[]>;
}

export interface PromotionQuery {
  status?: Promotion['status'];
  modelId?: string;
  target?: string;
  afterCreated?: Cursor;
  limit: number;
}

export interface PromotionRepository {
  insert(promotion: Omit<Promotion, 'model'>): Promise<void>;
  get(id: string): Promise<Promotion | null>;
  list(query: PromotionQuery): Promise<Promotion[]>;
  /** Pending promotions of one version to one target (at most one should exist). */
  pendingFor(modelId: string, version: number, target: string): Promise<Promotion[]>;
  /** Records a decision or an approval; the status, approvals and decision fields are replaced. */
  update(id: string, patch: Pick<Promotion, 'status' | 'approvals' | 'decidedAt' | 'decidedBy' | 'decisionComment'>): Promise<void>;
}

/** Stored policy documents: one server default (scope `*`) and one per model (scope = model id). */
export interface PolicyRepository {
  get(scope: string): Promise<{ document: unknown; updatedAt: string; updatedBy: string } | null>;
  put(scope: string, document: unknown, updatedBy: string, updatedAt: string): Promise<void>;
}

/** Who held a target (a stage or an alias) when: the history behind rollback. */
export interface HoldingRepository {
  start(holding: Holding): Promise<void>;
  /** Ends the open holding of this version on this target, if any. */
  end(modelId: string, target: string, version: number, endedAt: string): Promise<void>;
  /** Every holding of one version, on any target, oldest first. */
  forVersion(modelId: string, version: number): Promise<Holding[]>;
  /** Holdings of a target, newest first. */
  list(modelId: string, target: string, limit: number, before?: Cursor): Promise<Holding[]>;
}

export interface UserRepository {
  insert(user: User): Promise<void>;
  findByUsername(username: string): Promise<User | null>;
  update(id: string, patch: { role?: Role; groups?: string[] }): Promise<void>;
  list(): Promise<User[]>;
  count(): Promise<number>;
}

export interface TokenRepository {
  insert(token: { id: string; userId: string; name: string; prefix: string; hash: string; createdAt: string }): Promise<void>;
  /** The live (unrevoked) token with this hash, with its user. */
  findActiveByHash(hash: string): Promise<{ token: ApiToken; user: User } | null>;
  get(id: string): Promise<ApiToken | null>;
  list(userId?: string): Promise<ApiToken[]>;
  revoke(id: string, revokedAt: string): Promise<void>;
}

/** The registry-wide head of the audit chain and the outbox sequence. */
export interface JournalHead {
  auditSeq: number;
  auditHash: string;
  eventSeq: number;
}

export interface AuditQuery {
  resource?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  afterSeq?: number;
  limit: number;
}

/** An audit entry as stored: `changes` is the JSON text in the database. */
export type StoredAuditEntry = Omit<AuditEntry, 'changes'> & { changesJson: string };

/**
 * A stored audit entry as verify checks it: the text its hash covers (the previous hash, a
 * newline, the canonical JSON of its content with `changes` as stored: audit-chain.ts), built
 * by the database; null if it could not build it; `true` where the reader hashed that text
 * itself and it hashed to `hash`.
 */
export type AuditHashInput = [seq: number | string, input: string | null | true, prevHash: string, hash: string];

/** The audit chain and the event outbox, appended to inside the change's own transaction. */
export interface JournalRepository {
  /**
   * Reads and locks the head until the transaction ends: every writer of the chain is
   * serialised here, which is what makes the chain a chain across server processes.
   */
  lockHead(): Promise<JournalHead>;
  setHead(head: JournalHead): Promise<void>;
  appendAudit(entry: AuditEntry): Promise<void>;
  appendEvent(event: OutboxEvent): Promise<void>;
  /** The head without locking, for verification. */
  head(): Promise<JournalHead>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Audit entries in seq order starting after `afterSeq`, for verify and export. */
  auditRange(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /** The same, with `changes` as the JSON text stored (not parsed), for verify. */
  storedAuditRange(afterSeq: number, limit: number): Promise<StoredAuditEntry[]>;
  /** The same entries as verify hashes them, in order of seq. */
  auditHashInputs(afterSeq: number, limit: number): Promise<AuditHashInput[]>;
  /** How many entries a page of `auditHashInputs` should ask for here; verify's default if absent. */
  readonly auditPageSize?: number;
  /** Entries stored where the chain cannot have any (seq below 1, or none): how many, and the lowest seq among them. */
  auditBeforeChain(): Promise<{ count: number; lowest: number | null }>;
  listEvents(afterSeq: number, limit: number): Promise<OutboxEvent[]>;
}

export * from './ports-events.js';
export * from './ports-lineage.js';
export * from './ports-blobs.js';

export interface Repositories {
  models: ModelRepository;
  versions: VersionRepository;
  aliases: AliasRepository;
  promotions: PromotionRepository;
  users: UserRepository;
  tokens: TokenRepository;
  journal: JournalRepository;
  policies: PolicyRepository;
  holdings: HoldingRepository;
  webhooks: WebhookRepository;
  deliveries: DeliveryRepository;
  datasets: DatasetRepository;
  lineage: LineageRepository;
  deployments: DeploymentRepository;
  feedback: FeedbackRepository;
  tracking: TrackingRepository;
  blobRecords: BlobRecordRepository;
  uploads: UploadRepository;
}

/** Runs a unit of work: everything written inside `transaction` commits together or not at all. */
export interface UnitOfWork {
  /**
   * `aside`: the commit may be made durable beside the event loop (SQLite: its WAL synced on
   * a worker thread). The promise still settles only once the commit is on disk, but readers
   * may see it a moment before. Only for records nothing durable builds on until a later
   * commit without `aside`, which makes every earlier one durable too (an upload's parts).
   */
  transaction<T>(work: (repos: Repositories) => Promise<T>, options?: { aside?: boolean }): Promise<T>;
  /** Repositories outside any transaction, for reads. */
  readonly read: Repositories;
  /**
   * `load()`'s answer, or the answer of an earlier call with the same key when nothing was
   * committed since it was loaded (anywhere, by any server): for deploy-time reads built from
   * several lookups. A load that throws is not remembered. Optional: without it, `load()`.
   * `notBefore` (a `performance.now()` time, such as the arrival of the request being
   * answered): an answer remembered is good if nothing was committed since then, rather than
   * since this call; several checks of one request may then share one read of the database.
   */
  remember?<T>(key: string, load: () => Promise<T>, notBefore?: number): Promise<T>;
  /**
   * What `remember(key, …)` would answer now without loading, when that is known without
   * waiting (on SQLite); otherwise undefined, and only `remember` can tell.
   */
  recall?<T>(key: string): T | undefined;
}

export interface Clock {
  /** Now, as an ISO-8601 UTC string with milliseconds: sortable as text on every database. */
  now(): string;
}

export interface IdSource {
  uuid(): string;
  /** A URL-safe random secret of `bytes` bytes of entropy. */
  secret(bytes: number): string;
}
