/**
 * Moves a version onto a target (a stage or an alias) inside a caller's transaction, keeping
 * the target's history (holdings) and recording each move. Promotions, rollbacks and direct
 * alias moves all go through here, so the history and the audit read the same way whatever
 * the route.
 */
import { errors } from '../errors.js';
import type { ChangeLog } from '../journal.js';
import { checkAliasName } from '../names.js';
import type { Clock, IdSource, Repositories } from '../ports.js';
import { presentVersion } from '../present.js';
import type { Holding, Model, Stage, Version } from '../types.js';
import { modelResource, requireVersion, versionResource } from './lookup.js';

export type Target = { kind: 'stage'; stage: Exclude<Stage, 'development'>; key: string } | { kind: 'alias'; alias: string; key: string };

/** Parses `staging`, `production`, `archived` or `@alias`. */
export function parseTarget(target: string): Target {
  if (target === 'staging' || target === 'production' || target === 'archived') return { kind: 'stage', stage: target, key: target };
  if (target.startsWith('@')) return { kind: 'alias', alias: checkAliasName(target.slice(1)), key: target };
  throw errors.validation(`target ${JSON.stringify(target)} must be staging, production, archived or @<alias>`, { target });
}

/** How a version came to hold a target, for the history. */
export interface Via {
  kind: Holding['via'];
  promotionId: string | null;
  reason: string;
  approvedBy: string[];
}

/** Stages whose holders are tracked as history (archived is where versions go, not a post). */
const HELD_STAGES: Stage[] = ['staging', 'production'];

export class TargetMover {
  constructor(private readonly clock: Clock, private readonly ids: IdSource) {}

  /** Who holds the target now: the production version, or the alias's version; null for staging (it holds many). */
  async holder(repos: Repositories, model: Model, target: Target): Promise<number | null> {
    if (target.kind === 'alias') return (await repos.aliases.get(model.id, target.alias))?.version ?? null;
    if (target.stage !== 'production') return null;
    return (await repos.versions.newestInStage(model.id, 'production'))?.version ?? null;
  }

  /** Whether the version already holds the target. */
  holds(version: Version, target: Target): boolean {
    return target.kind === 'stage' ? version.stage === target.stage : version.aliases.includes(target.alias);
  }

  async apply(repos: Repositories, log: ChangeLog, actor: string, model: Model, version: Version, target: Target, via: Via): Promise<void> {
    if (target.kind === 'alias') await this.pointAlias(repos, log, actor, model, version, target.alias, via);
    else await this.moveStage(repos, log, actor, model, version, target.stage, via);
  }

  /** Moves a version into a stage; a new production version archives the previous one in the same transaction. */
  async moveStage(repos: Repositories, log: ChangeLog, actor: string, model: Model, version: Version, stage: Stage, via: Via | null, because?: string): Promise<void> {
    if (stage === 'production') {
      for (const previous of await repos.versions.inStage(model.id, 'production')) {
        if (previous.id !== version.id) await this.setStage(repos, log, model, previous, 'archived', null, actor, `replaced by version ${version.version}`);
      }
    }
    await this.setStage(repos, log, model, version, stage, via, actor, because);
  }

  async pointAlias(repos: Repositories, log: ChangeLog, actor: string, model: Model, version: Version, alias: string, via: Via): Promise<void> {
    const current = await repos.aliases.get(model.id, alias);
    if (current?.version === version.version) return;
    const now = this.clock.now();
    if (current) await repos.holdings.end(model.id, `@${alias}`, current.version, now);
    await repos.aliases.set(model.id, alias, version.version, now);
    // A version that took an alias through review has been released: it can no longer be deleted.
    if (via.kind !== 'direct') await repos.versions.markReleased(version.id, now);
    await this.startHolding(repos, model, `@${alias}`, version.version, actor, via);
    log.record({
      action: 'alias.set', resource: `${modelResource(model)}/aliases/${alias}`, subject: model.name,
      changes: { alias, version: { from: current?.version ?? null, to: version.version }, via: via.kind, ...(via.promotionId ? { promotion: via.promotionId } : {}) },
      data: { model: model.name, alias, version: version.version, previous_version: current?.version ?? null },
    });
  }

  async removeAlias(repos: Repositories, log: ChangeLog, model: Model, alias: string, version: number, because?: string): Promise<void> {
    await repos.aliases.delete(model.id, alias);
    await repos.holdings.end(model.id, `@${alias}`, version, this.clock.now());
    log.record({
      action: 'alias.deleted', resource: `${modelResource(model)}/aliases/${alias}`, subject: model.name,
      changes: { alias, version, ...(because ? { because } : {}) }, data: { model: model.name, alias, version },
    });
  }

  private async setStage(repos: Repositories, log: ChangeLog, model: Model, version: Version, stage: Stage, via: Via | null, actor: string, because?: string) {
    const now = this.clock.now();
    if (HELD_STAGES.includes(version.stage)) await repos.holdings.end(model.id, version.stage, version.version, now);
    await repos.versions.setStage(version.id, stage, now);
    if (HELD_STAGES.includes(stage) && via) await this.startHolding(repos, model, stage, version.version, actor, via);
    const after = await requireVersion(repos, model, version.version);
    log.record({
      action: 'version.stage_changed', resource: versionResource(after), subject: model.name,
      changes: { stage: { from: version.stage, to: stage }, ...(because ? { because } : {}), ...(via?.promotionId ? { promotion: via.promotionId } : {}), ...(via?.kind === 'rollback' ? { via: 'rollback' } : {}) },
      data: { version: presentVersion(after), previous_stage: version.stage },
    });
  }

  private async startHolding(repos: Repositories, model: Model, target: string, version: number, actor: string, via: Via) {
    await repos.holdings.start({
      id: this.ids.uuid(), modelId: model.id, target, version, startedAt: this.clock.now(), endedAt: null,
      via: via.kind, promotionId: via.promotionId, actor, reason: via.reason, approvedBy: via.approvedBy,
    });
  }
}
