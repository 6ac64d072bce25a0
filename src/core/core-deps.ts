/** What every service is built from, and the one way services change state. */
import { ChangeLog, type RequestContext } from './journal.js';
import type { BlobStore, Clock, IdSource, Repositories, UnitOfWork } from './ports.js';

export interface Limits {
  /** The largest blob a single upload may carry. */
  maxBlobBytes: number;
  /** The most all blobs together (and open upload sessions' declared sizes) may take; 0 for no limit. */
  maxStoreBytes: number;
  /** How long an upload session stays open. */
  uploadTtlMs: number;
  /** How long an unreferenced blob is left alone before collection may take it. */
  gcGraceMs: number;
}

export interface CoreDeps {
  uow: UnitOfWork;
  blobs: BlobStore;
  clock: Clock;
  ids: IdSource;
  limits: Limits;
  /** Called after a change commits, so the webhook dispatcher and event streams look at once. */
  notify?: () => void;
}

/**
 * Runs `work` in one transaction and appends everything it recorded to the audit chain and
 * the outbox before committing: the change, its audit entries and its events commit together.
 */
export function change<T>(deps: CoreDeps, ctx: RequestContext, work: (repos: Repositories, log: ChangeLog) => Promise<T>): Promise<T> {
  let recorded = false;
  const result = deps.uow.transaction(async (repos) => {
    const log = new ChangeLog();
    const value = await work(repos, log);
    recorded = log.size > 0;
    await log.flush(repos, ctx, deps.clock, deps.ids);
    return value;
  });
  return result.then((value) => {
    if (recorded) deps.notify?.();
    return value;
  });
}
