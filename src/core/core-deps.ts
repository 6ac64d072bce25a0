/** What every service is built from, and the one way services change state. */
import { ChangeLog, type RequestContext } from './journal.js';
import type { BlobStore, Clock, IdSource, Repositories, UnitOfWork } from './ports.js';

export interface Limits {
  /** The largest blob a single upload may carry. */
  maxBlobBytes: number;
}

export interface CoreDeps {
  uow: UnitOfWork;
  blobs: BlobStore;
  clock: Clock;
  ids: IdSource;
  limits: Limits;
}

/**
 * Runs `work` in one transaction and appends everything it recorded to the audit chain and
 * the outbox before committing: the change, its audit entries and its events commit together.
 */
export function change<T>(deps: CoreDeps, ctx: RequestContext, work: (repos: Repositories, log: ChangeLog) => Promise<T>): Promise<T> {
  return deps.uow.transaction(async (repos) => {
    const log = new ChangeLog();
    const result = await work(repos, log);
    await log.flush(repos, ctx, deps.clock, deps.ids);
    return result;
  });
}
