/**
 * Direct alias moves. Aliases a policy protects (`@name` targets) move only through promotions;
 * the others are pointed and removed directly, recorded in the audit and the alias's history.
 */
import { hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { checkAliasName } from '../names.js';
import { isProtectedAlias } from '../policy.js';
import type { Version } from '../types.js';
import { lockModel, requireModel, requireVersion } from './lookup.js';
import { loadEffectivePolicy } from './policy-service.js';
import { TargetMover } from './target-mover.js';

export class AliasService {
  private readonly mover: TargetMover;

  constructor(private readonly deps: CoreDeps) {
    this.mover = new TargetMover(deps.clock, deps.ids);
  }

  async list(modelName: string): Promise<{ alias: string; version: number }[]> {
    const repos = this.deps.uow.read;
    return repos.aliases.all((await requireModel(repos, modelName)).id);
  }

  /** Whether the model's policy protects the alias (it then moves only through promotions). */
  async isProtected(modelName: string, alias: string): Promise<boolean> {
    const repos = this.deps.uow.read;
    return isProtectedAlias(await loadEffectivePolicy(repos, await requireModel(repos, modelName)), alias);
  }

  async set(ctx: RequestContext, modelName: string, alias: string, number: number): Promise<Version> {
    requireRole(ctx.actor, 'contributor', 'setting an alias');
    checkAliasName(alias);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      if (isProtectedAlias(await loadEffectivePolicy(repos, model), alias)) {
        throw new ModelgateError('APPROVAL_REQUIRED',
          `alias @${alias} of ${model.name} is protected by policy: request a promotion of version ${number} to @${alias}`,
          { alias, promotions: `/api/v1/models/${model.name}/versions/${number}/promotions` });
      }
      const version = await requireVersion(repos, model, number);
      await this.mover.pointAlias(repos, log, ctx.actor.username, model, version, alias, { kind: 'direct', promotionId: null, reason: '', approvedBy: [] });
      return requireVersion(repos, model, number);
    });
  }

  /** Removes an alias; a protected one only by an approver or admin, since it changes what deployments resolve. */
  async delete(ctx: RequestContext, modelName: string, alias: string): Promise<void> {
    requireRole(ctx.actor, 'contributor', 'deleting an alias');
    await change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      const current = await repos.aliases.get(model.id, alias);
      if (!current) throw errors.aliasNotFound(model.name, alias);
      if (isProtectedAlias(await loadEffectivePolicy(repos, model), alias) && !hasRole(ctx.actor, 'approver')) {
        throw errors.roleRequired('approver', ctx.actor.role, `removing the protected alias @${alias}`);
      }
      await this.mover.removeAlias(repos, log, model, alias, current.version);
    });
  }
}
