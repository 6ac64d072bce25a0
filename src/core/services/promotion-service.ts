/**
 * Promotions: the only way a version reaches a stage or a protected alias. A request is checked
 * against the gates of the policy in force and stores that policy; approvals are counted
 * against it, with separation of duties; the last approval applies the move in its own
 * transaction, unless the promotion went stale meanwhile.
 */
import { hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { ChangeLog, RequestContext } from '../journal.js';
import { evaluateGates, ruleFor } from '../policy.js';
import { decodeCursor, encodePageToken } from '../page-token.js';
import type { Clock, Repositories } from '../ports.js';
import { presentObservation, presentPromotion } from '../present.js';
import type { Actor, Model, Promotion, TargetRule, Version } from '../types.js';
import { lockModel, requireModel, requireVersion } from './lookup.js';
import { loadEffectivePolicy } from './policy-service.js';
import { TargetMover, parseTarget } from './target-mover.js';

export interface ListPromotionsInput {
  status?: Promotion['status'];
  model?: string;
  target?: string;
  /** Only pending promotions the actor may approve now. */
  waitingFor?: Actor;
  pageSize?: number;
  pageToken?: string;
}

export class PromotionService {
  private readonly mover: TargetMover;

  constructor(private readonly deps: CoreDeps) {
    this.mover = new TargetMover(deps.clock, deps.ids);
  }

  async request(ctx: RequestContext, modelName: string, number: number, input: { target: string; reason: string }): Promise<Promotion> {
    requireRole(ctx.actor, 'contributor', 'requesting a promotion');
    const target = parseTarget(input.target);
    if (input.reason.trim() === '') throw errors.validation('a promotion needs a reason');
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      const version = await requireVersion(repos, model, number);
      if (version.status !== 'ready') {
        throw new ModelgateError('VERSION_NOT_READY', `version ${number} of ${model.name} is ${version.status}, not ready`, { status: version.status });
      }
      if (this.mover.holds(version, target)) {
        throw new ModelgateError('ALREADY_IN_STAGE', `version ${number} of ${model.name} already holds ${target.key}`, { target: target.key });
      }
      const policy = await loadEffectivePolicy(repos, model);
      // Taking the production version out of production is a production change: it needs the
      // approvals production needs, whatever the target's own rule says.
      const leavesProduction = target.kind === 'stage' && version.stage === 'production';
      const rule = leavesProduction
        ? { ...ruleFor(policy, 'production'), gates: ruleFor(policy, target.key).gates }
        : ruleFor(policy, target.key);
      const checks = evaluateGates(rule, version);
      const failing = checks.filter((c) => !c.passed);
      if (failing.length > 0) {
        throw new ModelgateError('GATE_FAILED',
          `version ${number} fails ${failing.length} gate${failing.length > 1 ? 's' : ''} for ${target.key}: ${failing.map((c) => c.message).join('; ')}`,
          { target: target.key, failing, checks });
      }
      const open = await repos.promotions.pendingFor(model.id, number, target.key);
      if (open.length > 0) {
        throw new ModelgateError('PROMOTION_PENDING', `promotion ${open[0]!.id} already asks to move version ${number} to ${target.key}`, { promotion_id: open[0]!.id });
      }
      const promotion: Promotion = {
        id: this.deps.ids.uuid(), modelId: model.id, model: model.name, version: number, target: target.key, reason: input.reason,
        status: 'pending', requestedBy: ctx.actor.username, createdAt: this.deps.clock.now(), decidedAt: null, checks, approvals: [],
        policy: rule, fromStage: version.stage, targetHolder: await this.mover.holder(repos, model, target), decidedBy: null, decisionComment: null,
      };
      await repos.promotions.insert(promotion);
      log.record({
        action: 'promotion.requested', resource: promotionResource(model.name, promotion.id), subject: model.name,
        changes: { model: model.name, version: number, target: target.key, reason: input.reason, approvals_required: rule.approvalsRequired },
        data: { promotion: presentPromotion(promotion) },
      });
      if (rule.approvalsRequired === 0) return this.apply(repos, log, ctx, model, version, promotion);
      return promotion;
    });
  }

  async approve(ctx: RequestContext, id: string, comment: string): Promise<Promotion> {
    const outcome = await change(this.deps, ctx, async (repos, log) => {
      const { promotion, model, version } = await this.pending(repos, id);
      const rule = ruleOf(promotion);
      this.checkEligible(ctx.actor, promotion, 'approve');
      if (rule.separationOfDuties && (ctx.actor.username === version.createdBy || ctx.actor.username === promotion.requestedBy)) {
        const who = ctx.actor.username === version.createdBy ? 'created the version' : 'requested the promotion';
        throw new ModelgateError('SELF_APPROVAL_FORBIDDEN',
          `separation of duties: ${ctx.actor.username} ${who} and cannot approve it`, { promotion_id: id, username: ctx.actor.username });
      }
      if (promotion.approvals.some((a) => a.username === ctx.actor.username)) {
        throw new ModelgateError('ALREADY_APPROVED', `${ctx.actor.username} has already approved promotion ${id}`, { promotion_id: id });
      }
      const stale = await this.staleness(repos, model, version, promotion);
      if (stale) return { promotion: await this.close(repos, log, promotion, 'cancelled', ctx.actor.username, `stale: ${stale}`), stale };
      const approvals = [...promotion.approvals, { username: ctx.actor.username, role: ctx.actor.role, comment, at: this.deps.clock.now() }];
      const approved = { ...promotion, approvals };
      await repos.promotions.update(id, approved);
      log.record({
        action: 'promotion.approved', resource: promotionResource(model.name, id), subject: model.name,
        changes: { approved_by: ctx.actor.username, comment, approvals: approvals.length, required: rule.approvalsRequired },
        data: { promotion: presentPromotion(approved) },
      });
      if (approvals.length < rule.approvalsRequired) return { promotion: approved, stale: null };
      return { promotion: await this.apply(repos, log, ctx, model, version, approved), stale: null };
    });
    if (outcome.stale) {
      throw new ModelgateError('PROMOTION_STALE', `promotion ${id} can no longer be applied (${outcome.stale}); it was cancelled`, { promotion_id: id, reason: outcome.stale });
    }
    return outcome.promotion;
  }

  /** Rejects a pending promotion; a version waiting in staging goes back to development. */
  async reject(ctx: RequestContext, id: string, comment: string): Promise<Promotion> {
    if (comment.trim() === '') throw errors.validation('a rejection needs a comment saying why');
    return change(this.deps, ctx, async (repos, log) => {
      const { promotion, model, version } = await this.pending(repos, id);
      this.checkEligible(ctx.actor, promotion, 'reject');
      const rejected = await this.close(repos, log, promotion, 'rejected', ctx.actor.username, comment);
      if (parseTarget(promotion.target).kind === 'stage' && version.stage === 'staging') {
        await this.mover.moveStage(repos, log, ctx.actor.username, model, version, 'development', null, `promotion ${id} to ${promotion.target} rejected`);
      }
      return rejected;
    });
  }

  async cancel(ctx: RequestContext, id: string, comment = ''): Promise<Promotion> {
    return change(this.deps, ctx, async (repos, log) => {
      const { promotion } = await this.pending(repos, id);
      if (promotion.requestedBy !== ctx.actor.username && !hasRole(ctx.actor, 'admin')) {
        throw errors.forbidden(`only the requester (${promotion.requestedBy}) or an admin may cancel promotion ${id}`);
      }
      return this.close(repos, log, promotion, 'cancelled', ctx.actor.username, comment);
    });
  }

  /**
   * A promotion with what a reviewer weighs: for production, the candidate's evaluation
   * metrics beside what the current production version is observed doing in production.
   */
  async getWithContext(id: string) {
    const promotion = await this.get(id);
    const repos = this.deps.uow.read;
    const candidate = await repos.versions.get(promotion.modelId, promotion.version, true);
    const live = promotion.target === 'production' ? await repos.versions.newestInStage(promotion.modelId, 'production') : null;
    const current = live && live.version !== promotion.version ? live : null;
    return {
      promotion,
      comparison: {
        candidate: { version: promotion.version, metrics: candidate?.metrics ?? {} },
        production: current ? {
          version: current.version, metrics: current.metrics, degraded: current.degradedAt !== null,
          recent_observations: (await repos.feedback.recent(promotion.modelId, current.version, 50)).map(presentObservation),
        } : null,
      },
    };
  }

  async get(id: string): Promise<Promotion> {
    const promotion = await this.deps.uow.read.promotions.get(id);
    if (!promotion) throw errors.promotionNotFound(id);
    return promotion;
  }

  /** Newest first. `waitingFor` keeps the pending ones that actor may approve now (the inbox). */
  async list(input: ListPromotionsInput): Promise<{ promotions: Promotion[]; nextPageToken: string | null }> {
    const repos = this.deps.uow.read;
    const model = input.model === undefined ? undefined : await requireModel(repos, input.model);
    const status = input.waitingFor ? 'pending' : input.status;
    const limit = input.pageSize ?? 50;
    const shape = { s: status ?? null, m: model?.id ?? null, t: input.target ?? null, w: input.waitingFor?.username ?? null };
    let after: { key: string; id: string } | undefined;
    if (input.pageToken) {
      after = decodeCursor(input.pageToken, shape);
    }
    const found: Promotion[] = [];
    let more = true;
    // The inbox filter needs each version's creator, so it runs here, reading on until a page is full.
    while (found.length <= limit && more) {
      const rows = await repos.promotions.list({ status, modelId: model?.id, target: input.target, afterCreated: after, limit: limit + 1 });
      more = rows.length > limit;
      for (const row of rows) {
        after = { key: row.createdAt, id: row.id };
        if (!input.waitingFor || (await this.mayApprove(repos, input.waitingFor, row))) found.push(row);
        if (found.length > limit) break;
      }
    }
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return { promotions: page, nextPageToken: found.length > limit && last ? encodePageToken(shape, { key: last.createdAt, id: last.id }) : null };
  }

  private async mayApprove(repos: Repositories, actor: Actor, promotion: Promotion): Promise<boolean> {
    const rule = ruleOf(promotion);
    if (ineligibility(actor, promotion, 'approve') !== null) return false;
    if (promotion.approvals.some((a) => a.username === actor.username)) return false;
    if (!rule.separationOfDuties) return true;
    if (promotion.requestedBy === actor.username) return false;
    const version = await repos.versions.get(promotion.modelId, promotion.version);
    return version !== null && version.createdBy !== actor.username;
  }

  private checkEligible(actor: Actor, promotion: Promotion, action: string): void {
    const refusal = ineligibility(actor, promotion, action);
    if (refusal) throw refusal;
  }

  private async pending(repos: Repositories, id: string): Promise<{ promotion: Promotion; model: Model; version: Version }> {
    const found = await repos.promotions.get(id);
    if (!found) throw errors.promotionNotFound(id);
    const model = await repos.models.findById(found.modelId);
    if (!model) throw errors.promotionNotFound(id);
    await repos.models.lock(model.id);
    if ((await repos.models.findById(model.id))!.archived) throw errors.modelArchived(model.name);
    // Read again under the model's lock: a concurrent decision on the same promotion has committed by now.
    const promotion = (await repos.promotions.get(id))!;
    if (promotion.status !== 'pending') {
      throw new ModelgateError('PROMOTION_NOT_PENDING', `promotion ${id} is already ${promotion.status}`, { promotion_id: id, status: promotion.status });
    }
    const version = await repos.versions.get(model.id, promotion.version);
    if (!version) throw errors.versionNotFound(model.name, promotion.version);
    return { promotion, model, version };
  }

  /** Why a promotion can no longer be applied, or null if it still can. */
  private async staleness(repos: Repositories, model: Model, version: Version, promotion: Promotion): Promise<string | null> {
    if (version.stage !== promotion.fromStage) return `version ${version.version} moved from ${promotion.fromStage} to ${version.stage}`;
    const holder = await this.mover.holder(repos, model, parseTarget(promotion.target));
    if (holder !== promotion.targetHolder) {
      return `${promotion.target} changed from ${promotion.targetHolder === null ? 'no version' : `version ${promotion.targetHolder}`} to ${holder === null ? 'no version' : `version ${holder}`} since the request`;
    }
    return null;
  }

  private async apply(repos: Repositories, log: ChangeLog, ctx: RequestContext, model: Model, version: Version, promotion: Promotion): Promise<Promotion> {
    const rule = ruleOf(promotion);
    // Tags and the model card may have been edited since the request: the gates hold at apply time too.
    const failing = evaluateGates(rule, version).filter((c) => !c.passed);
    if (failing.length > 0) {
      throw new ModelgateError('GATE_FAILED', `version ${version.version} no longer passes: ${failing.map((c) => c.message).join('; ')}`, { failing });
    }
    const target = parseTarget(promotion.target);
    // The history names who asked for the move; the approvals name who allowed it.
    await this.mover.apply(repos, log, promotion.requestedBy, model, version, target, {
      kind: 'promotion', promotionId: promotion.id, reason: promotion.reason, approvedBy: promotion.approvals.map((a) => a.username),
    });
    const now = this.deps.clock.now();
    const applied: Promotion = { ...promotion, status: 'applied', decidedAt: now, decidedBy: ctx.actor.username };
    await repos.promotions.update(promotion.id, applied);
    log.record({
      action: 'promotion.applied', resource: promotionResource(model.name, promotion.id), subject: model.name,
      changes: { status: { from: 'pending', to: 'applied' }, version: version.version, target: promotion.target, approved_by: applied.approvals.map((a) => a.username) },
      data: { promotion: presentPromotion(applied) },
    });
    return applied;
  }

  private async close(repos: Repositories, log: ChangeLog, promotion: Promotion, status: 'rejected' | 'cancelled', by: string, comment: string): Promise<Promotion> {
    const closed: Promotion = { ...promotion, status, decidedAt: this.deps.clock.now(), decidedBy: by, decisionComment: comment };
    await repos.promotions.update(promotion.id, closed);
    log.record({
      action: `promotion.${status}`, resource: promotionResource(promotion.model, promotion.id), subject: promotion.model,
      changes: { status: { from: 'pending', to: status }, comment },
      data: { promotion: presentPromotion(closed) },
    });
    return closed;
  }
}

/** The rule a promotion is decided by: the one recorded when it was requested. */
function ruleOf(promotion: Promotion): TargetRule {
  return promotion.policy ?? ruleFor({}, promotion.target);
}

/** Why the actor's role or groups may not decide this promotion, or null if they may. */
function ineligibility(actor: Actor, promotion: Promotion, action: string): ModelgateError | null {
  const rule = ruleOf(promotion);
  if (!rule.approverRoles.includes(actor.role)) {
    return new ModelgateError('APPROVER_NOT_ELIGIBLE',
      `only ${rule.approverRoles.join(' or ')} may ${action} promotions to ${promotion.target}; you are ${actor.role}`,
      { approver_roles: rule.approverRoles, role: actor.role });
  }
  if (rule.approverGroups.length > 0 && !rule.approverGroups.some((g) => actor.groups.includes(g))) {
    return new ModelgateError('APPROVER_NOT_ELIGIBLE',
      `only members of ${rule.approverGroups.join(' or ')} may ${action} promotions to ${promotion.target}`,
      { approver_groups: rule.approverGroups, groups: actor.groups });
  }
  return null;
}

/** Cancels every pending promotion of a model (when it is archived), each with its audit entry and event. */
export async function cancelPendingPromotions(repos: Repositories, log: ChangeLog, clock: Clock, model: Model, by: string, comment: string): Promise<number> {
  let cancelled = 0;
  for (;;) {
    const pending = await repos.promotions.list({ modelId: model.id, status: 'pending', limit: 200 });
    for (const promotion of pending) {
      const closed: Promotion = { ...promotion, status: 'cancelled', decidedAt: clock.now(), decidedBy: by, decisionComment: comment };
      await repos.promotions.update(promotion.id, closed);
      log.record({
        action: 'promotion.cancelled', resource: promotionResource(model.name, promotion.id), subject: model.name,
        changes: { status: { from: 'pending', to: 'cancelled' }, comment }, data: { promotion: presentPromotion(closed) },
      });
      cancelled += 1;
    }
    if (pending.length < 200) return cancelled;
  }
}

/** Promotions are filed under their model, so `audit list --resource models/<name>` shows who approved what. */
function promotionResource(model: string, id: string): string {
  return `models/${model}/promotions/${id}`;
}
