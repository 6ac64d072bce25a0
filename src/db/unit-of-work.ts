/** The Kysely implementation of core's UnitOfWork: one database transaction per unit. */
import type { Kysely } from 'kysely';
import type { Repositories, UnitOfWork } from '../core/ports.js';
import type { DbCapabilities, DbHandle } from './connect.js';
import { guard, translateDbError } from './errors.js';
import { KyselyAliasRepository } from './repositories/alias-repository.js';
import { KyselyBlobRecordRepository, KyselyUploadRepository } from './repositories/blob-repositories.js';
import { KyselyHoldingRepository, KyselyPolicyRepository } from './repositories/governance-repositories.js';
import { KyselyTokenRepository, KyselyUserRepository } from './repositories/identity-repositories.js';
import { KyselyJournalRepository } from './repositories/journal-repository.js';
import { KyselyDatasetRepository, KyselyLineageRepository } from './repositories/lineage-repositories.js';
import { KyselyModelRepository } from './repositories/model-repository.js';
import { KyselyDeploymentRepository, KyselyFeedbackRepository } from './repositories/operations-repositories.js';
import { KyselyPromotionRepository } from './repositories/promotion-repository.js';
import { KyselyTrackingRepository } from './repositories/tracking-repository.js';
import { KyselyVersionRepository } from './repositories/version-repository.js';
import { KyselyDeliveryRepository, KyselyWebhookRepository } from './repositories/webhook-repositories.js';
import type { Database } from './schema.js';
import { GroupCommitter } from './group-commit.js';
import { postgresHotReads } from './postgres-hot-reads.js';
import { sqliteHotReads } from './sqlite-hot-reads.js';

/** What the hot reads replace in `uow.read` (the journal's reads, for verify). */
type HotReads = ReturnType<typeof postgresHotReads> | ReturnType<typeof sqliteHotReads>;

function repositories(db: Kysely<Database>, caps: DbCapabilities): Repositories {
  return {
    models: guard(new KyselyModelRepository(db, caps)),
    versions: guard(new KyselyVersionRepository(db)),
    aliases: guard(new KyselyAliasRepository(db)),
    promotions: guard(new KyselyPromotionRepository(db)),
    users: guard(new KyselyUserRepository(db)),
    tokens: guard(new KyselyTokenRepository(db)),
    journal: guard(new KyselyJournalRepository(db, caps)),
    policies: guard(new KyselyPolicyRepository(db)),
    holdings: guard(new KyselyHoldingRepository(db)),
    webhooks: guard(new KyselyWebhookRepository(db)),
    deliveries: guard(new KyselyDeliveryRepository(db, caps)),
    datasets: guard(new KyselyDatasetRepository(db)),
    lineage: guard(new KyselyLineageRepository(db)),
    deployments: guard(new KyselyDeploymentRepository(db)),
    feedback: guard(new KyselyFeedbackRepository(db)),
    tracking: guard(new KyselyTrackingRepository(db, caps)),
    blobRecords: guard(new KyselyBlobRecordRepository(db)),
    uploads: guard(new KyselyUploadRepository(db)),
  };
}

export class KyselyUnitOfWork implements UnitOfWork {
  readonly read: Repositories;
  /** SQLite: concurrent units share commits (see group-commit.ts). PostgreSQL commits in parallel. */
  private readonly group: GroupCommitter | null;
  private readonly memo: (<T>(key: string, load: () => Promise<T>, notBefore?: number) => Promise<T>) | null = null;
  /** See UnitOfWork.recall: set on SQLite, where what is remembered can be checked without waiting. */
  readonly recall?: <T>(key: string) => T | undefined;

  constructor(private readonly handle: DbHandle) {
    this.group = handle.writer ? new GroupCommitter(handle.db, handle.writer) : null;
    if (this.group) {
      const group = this.group;
      const closeDb = handle.close;
      handle.close = async () => {
        await group.close();
        await closeDb();
      };
    }
    const read = repositories(handle.db, handle.capabilities);
    const hot: HotReads | null = handle.reader ? sqliteHotReads(handle.reader, handle.writes!, handle.db, handle.capabilities)
      : handle.pool ? postgresHotReads(handle.pool, handle.db, handle.capabilities) : null;
    if (!hot) {
      this.read = read;
      return;
    }
    if ('close' in hot) {
      const closeDb = handle.close;
      handle.close = async () => {
        await hot.close();
        await closeDb();
      };
    }
    this.read = {
      ...read, models: guard(hot.models), versions: guard(hot.versions), aliases: guard(hot.aliases), tokens: guard(hot.tokens),
      journal: guard(hot.journal),
    };
    this.memo = hot.remember;
    if (hot.recall) this.recall = hot.recall;
  }

  remember<T>(key: string, load: () => Promise<T>, notBefore?: number): Promise<T> {
    return this.memo ? this.memo(key, load, notBefore) : load();
  }

  async transaction<T>(work: (repos: Repositories) => Promise<T>, options: { aside?: boolean } = {}): Promise<T> {
    try {
      if (this.group) return await this.group.run((trx) => work(repositories(trx, this.handle.capabilities)), options);
      return await this.handle.db.transaction().execute((trx) => work(repositories(trx, this.handle.capabilities)));
    } catch (err) {
      throw translateDbError(err);
    }
  }
}
