/**
 * Stage moves and aliases. A stage move is always recorded as a promotion. Until policies
 * land, a promotion by an approver or admin applies at once; contributors may move versions
 * to staging and point aliases, which the default policy lets through without approval.
 */
import { hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { ChangeLog, RequestContext } from '../journal.js';
import { checkAliasName } from '../names.js';
import { decodePageToken, encodePageToken } from '../page-token.js';
import type { Repositories } from '../ports.js';
import { presentPromotion, presentVersion } from '../present.js';
import type { Model, Promotion, Stage, Version } from '../types.js';
import { modelResource, requireModel, requireVersion, versionResource } from './lookup.js';

export type PromotionTarget = { kind: 'stage'; stage: Exclude<Stage, 'development'> } | { kind: 'alias'; alias: string };

export function parseTarget(target: string): PromotionTarget {
  if (target === 'staging' || target === 'production' || target === 'archived') return { kind: 'stage', stage: target };
  if (target.startsWith('@')) return { kind: 'alias', alias: checkAliasName(target.slice(1)) };
  throw errors.validation(`target ${JSON.stringify(target)} must be staging, production, archived or @<alias>`, { target });
}

export class StageService {
  constructor(private readonly deps: CoreDeps) {}

  async promote(ctx: RequestContext, modelName: string, number: number, input: { target: string; reason: string }): Promise<Promotion> {
    requireRole(ctx.actor, 'contributor', 'requesting a promotion');
    const target = parseTarget(input.target);
    if (input.reason.trim() === '') throw errors.validation('a promotion needs a reason');
    const appliesAtOnce = hasRole(ctx.actor, 'approver') || target.kind === 'alias' || target.stage === 'staging';
    if (!appliesAtOnce) throw errors.roleRequired('approver', ctx.actor.role, `moving a version to ${input.target}`);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await requireModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      await repos.models.lock(model.id);
      const version = await requireVersion(repos, model, number);
      if (version.status !== 'ready') {
        throw new ModelgateError('VERSION_NOT_READY', `version ${number} of ${model.name} is ${version.status}, not ready`, { status: version.status });
      }
      if (target.kind === 'stage' && version.stage === target.stage) {
        throw new ModelgateError('ALREADY_IN_STAGE', `version ${number} of ${model.name} is already in ${target.stage}`, { stage: version.stage });
      }
      const now = this.deps.clock.now();
      const promotion: Promotion = {
        id: this.deps.ids.uuid(), modelId: model.id, model: model.name, version: number, target: input.target,
        reason: input.reason, status: 'applied', requestedBy: ctx.actor.username, createdAt: now, decidedAt: now,
        checks: [], approvals: [],
      };
      await repos.promotions.insert(promotion);
      const resource = `promotions/${promotion.id}`;
      log.record({
        action: 'promotion.requested', resource, subject: model.name,
        changes: { model: model.name, version: number, target: input.target, reason: input.reason },
        data: { promotion: presentPromotion({ ...promotion, status: 'pending', decidedAt: null }) },
      });
      if (target.kind === 'stage') await this.moveStage(repos, log, model, version, target.stage);
      else await this.pointAlias(repos, log, model, version, target.alias);
      log.record({
        action: 'promotion.applied', resource, subject: model.name,
        changes: { status: { from: 'pending', to: 'applied' } }, data: { promotion: presentPromotion(promotion) },
      });
      return promotion;
    });
  }

  async getPromotion(id: string): Promise<Promotion> {
    const promotion = await this.deps.uow.read.promotions.get(id);
    if (!promotion) throw errors.promotionNotFound(id);
    return promotion;
  }

  async listPromotions(input: { status?: Promotion['status']; model?: string; pageSize?: number; pageToken?: string }) {
    const repos = this.deps.uow.read;
    const model = input.model === undefined ? undefined : await requireModel(repos, input.model);
    const limit = input.pageSize ?? 50;
    const shape = { s: input.status ?? null, m: model?.id ?? null };
    let afterCreated: { key: string; id: string } | undefined;
    if (input.pageToken) {
      const p = decodePageToken(input.pageToken, shape) as { key?: unknown; id?: unknown };
      if (typeof p?.key !== 'string' || typeof p.id !== 'string') throw errors.invalidPageToken();
      afterCreated = { key: p.key, id: p.id };
    }
    const rows = await repos.promotions.list({ status: input.status, modelId: model?.id, afterCreated, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      promotions: page,
      nextPageToken: rows.length > limit && last ? encodePageToken(shape, { key: last.createdAt, id: last.id }) : null,
    };
  }

  async setAlias(ctx: RequestContext, modelName: string, alias: string, number: number): Promise<Version> {
    requireRole(ctx.actor, 'contributor', 'setting an alias');
    checkAliasName(alias);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await requireModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      await repos.models.lock(model.id);
      const version = await requireVersion(repos, model, number);
      await this.pointAlias(repos, log, model, version, alias);
      return requireVersion(repos, model, number);
    });
  }

  async deleteAlias(ctx: RequestContext, modelName: string, alias: string): Promise<void> {
    requireRole(ctx.actor, 'contributor', 'deleting an alias');
    await change(this.deps, ctx, async (repos, log) => {
      const model = await requireModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      await repos.models.lock(model.id);
      const current = await repos.aliases.get(model.id, alias);
      if (!current) throw errors.aliasNotFound(model.name, alias);
      await repos.aliases.delete(model.id, alias);
      log.record({
        action: 'alias.deleted', resource: `${modelResource(model)}/aliases/${alias}`, subject: model.name,
        changes: { alias, version: current.version }, data: { model: model.name, alias, version: current.version },
      });
    });
  }

  /** Moves a version into a stage; a new production version archives the previous one in the same transaction. */
  private async moveStage(repos: Repositories, log: ChangeLog, model: Model, version: Version, stage: Stage): Promise<void> {
    const now = this.deps.clock.now();
    if (stage === 'production') {
      for (const previous of await repos.versions.inStage(model.id, 'production')) {
        await this.recordStage(repos, log, model, previous, 'archived', now, `replaced by version ${version.version}`);
      }
    }
    await this.recordStage(repos, log, model, version, stage, now, null);
  }

  private async recordStage(repos: Repositories, log: ChangeLog, model: Model, version: Version, stage: Stage, now: string, because: string | null) {
    await repos.versions.setStage(version.id, stage, now);
    const after = await requireVersion(repos, model, version.version);
    log.record({
      action: 'version.stage_changed', resource: versionResource(after), subject: model.name,
      changes: { stage: { from: version.stage, to: stage }, ...(because ? { because } : {}) },
      data: { version: presentVersion(after), previous_stage: version.stage },
    });
  }

  private async pointAlias(repos: Repositories, log: ChangeLog, model: Model, version: Version, alias: string): Promise<void> {
    const current = await repos.aliases.get(model.id, alias);
    if (current?.version === version.version) return;
    await repos.aliases.set(model.id, alias, version.version, this.deps.clock.now());
    log.record({
      action: 'alias.set', resource: `${modelResource(model)}/aliases/${alias}`, subject: model.name,
      changes: { alias, version: { from: current?.version ?? null, to: version.version } },
      data: { model: model.name, alias, version: version.version, previous_version: current?.version ?? null },
    });
  }
}
