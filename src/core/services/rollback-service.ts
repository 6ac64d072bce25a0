/**
 * Rollback and target history. A rollback moves production (or an alias) back to a version
 * that held it before through an approved promotion: it needs no new approval, which is what
 * makes it instant, but it is audited with its reason and raises its own event.
 */
import { requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { decodeCursor, encodePageToken } from '../page-token.js';
import type { Holding } from '../types.js';
import { lockModel, modelResource, requireModel } from './lookup.js';
import { TargetMover, parseTarget } from './target-mover.js';

export interface RollbackResult {
  model: string;
  target: string;
  fromVersion: number | null;
  toVersion: number;
  reason: string;
}

/** How far back rollback and history look; a target rarely changes hands this often. */
const HISTORY_SCAN = 10_000;

export class RollbackService {
  private readonly mover: TargetMover;

  constructor(private readonly deps: CoreDeps) {
    this.mover = new TargetMover(deps.clock, deps.ids);
  }

  async rollback(ctx: RequestContext, modelName: string, input: { target?: string; reason: string; version?: number }): Promise<RollbackResult> {
    requireRole(ctx.actor, 'approver', 'rolling back');
    if (input.reason.trim() === '') throw errors.validation('a rollback needs a reason');
    const target = parseTarget(input.target ?? 'production');
    if (target.kind === 'stage' && target.stage !== 'production') {
      throw errors.validation('rollback applies to production or an alias; staging holds several versions at once');
    }
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      const current = await this.mover.holder(repos, model, target);
      const approved = (await repos.holdings.list(model.id, target.key, HISTORY_SCAN)).filter((h) => h.via !== 'direct');
      const approvedVersions = new Map<number, Holding>();
      for (const h of approved) if (!approvedVersions.has(h.version)) approvedVersions.set(h.version, h);
      let chosen: number;
      if (input.version !== undefined) {
        if (input.version === current) {
          throw new ModelgateError('ALREADY_IN_STAGE', `version ${input.version} already holds ${target.key}`, { target: target.key });
        }
        if (!approvedVersions.has(input.version)) {
          throw new ModelgateError('ROLLBACK_NOT_APPROVED',
            `version ${input.version} of ${model.name} was never approved for ${target.key}; request a promotion instead`,
            { version: input.version, target: target.key, approved_versions: [...approvedVersions.keys()].sort((a, b) => b - a) });
        }
        chosen = input.version;
      } else {
        const earlier = [...approvedVersions.keys()].filter((v) => current === null || v < current).sort((a, b) => b - a);
        if (earlier.length === 0) {
          throw new ModelgateError('NOTHING_TO_ROLL_BACK',
            `no version earlier than ${current ?? 'the current one'} was ever approved for ${target.key} of ${model.name}`, { target: target.key, current });
        }
        chosen = earlier[0]!;
      }
      const version = await repos.versions.get(model.id, chosen);
      if (!version || version.status !== 'ready') throw errors.versionNotFound(model.name, chosen);
      const original = approvedVersions.get(chosen)!;
      await this.mover.apply(repos, log, ctx.actor.username, model, version, target, {
        kind: 'rollback', promotionId: original.promotionId, reason: input.reason, approvedBy: original.approvedBy,
      });
      const result: RollbackResult = { model: model.name, target: target.key, fromVersion: current, toVersion: chosen, reason: input.reason };
      log.record({
        action: 'rollback.applied', resource: `${modelResource(model)}/targets/${target.key}`, subject: model.name,
        changes: { target: target.key, from_version: current, to_version: chosen, reason: input.reason, originally_approved_by: original.approvedBy },
        data: { model: model.name, target: target.key, from_version: current, to_version: chosen, reason: input.reason },
      });
      return result;
    });
  }

  /** Who held the target when, newest first, and how each got there. */
  async history(modelName: string, input: { target?: string; pageSize?: number; pageToken?: string }): Promise<{ holdings: Holding[]; nextPageToken: string | null }> {
    const repos = this.deps.uow.read;
    const model = await requireModel(repos, modelName);
    const target = parseTarget(input.target ?? 'production');
    const limit = input.pageSize ?? 50;
    const shape = { m: model.id, t: target.key };
    let before: { key: string; id: string } | undefined;
    if (input.pageToken) {
      before = decodeCursor(input.pageToken, shape);
    }
    const rows = await repos.holdings.list(model.id, target.key, limit + 1, before);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { holdings: page, nextPageToken: rows.length > limit && last ? encodePageToken(shape, { key: last.startedAt, id: last.id }) : null };
  }
}
