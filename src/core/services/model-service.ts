/** Registered models: create, read, list, edit, rename and archive, each change audited. */
import { hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { checkModelName, checkTags, checkUsername } from '../names.js';
import { decodeCursor, encodePageToken } from '../page-token.js';
import { parseTagFilter } from '../filters.js';
import { DEFAULT_INVENTORY, checkInventory, type InventoryInput } from '../inventory.js';
import type { ModelPatch, ModelSort } from '../ports.js';
import { presentModel } from '../present.js';
import type { Actor, Model, RiskTier, Stage, Tags } from '../types.js';
import { lockModel, modelResource, requireModel } from './lookup.js';
import { cancelPendingPromotions } from './promotion-service.js';

export interface CreateModelInput extends InventoryInput {
  name: string;
  description?: string;
  tags?: Tags;
  owner?: string;
  intendedUse?: string;
  restrictions?: string;
  riskTier?: RiskTier | null;
}

export interface UpdateModelInput extends InventoryInput {
  description?: string;
  /** Merged into the current tags; a null value removes the tag. */
  tags?: Record<string, string | null>;
  owner?: string;
  intendedUse?: string;
  restrictions?: string;
  riskTier?: RiskTier | null;
}

export interface ListModelsInput {
  namePrefix?: string;
  tags?: string[];
  riskTier?: RiskTier;
  /** Only models with a version in this stage. */
  stage?: Stage;
  includeArchived?: boolean;
  sort?: ModelSort;
  order?: 'asc' | 'desc';
  pageSize?: number;
  pageToken?: string;
}

export class ModelService {
  constructor(private readonly deps: CoreDeps) {}

  async create(ctx: RequestContext, input: CreateModelInput): Promise<Model> {
    requireRole(ctx.actor, 'contributor', 'creating a model');
    const name = checkModelName(input.name);
    const tags = checkTags(input.tags ?? {});
    const inventory = { ...DEFAULT_INVENTORY, ...checkInventory(input) };
    return change(this.deps, ctx, async (repos, log) => {
      const owner = input.owner ?? ctx.actor.username;
      if (input.owner !== undefined && !(await repos.users.findByUsername(checkUsername(owner)))) throw errors.userNotFound(owner);
      const use = await repos.models.nameUse(name);
      if (use === 'current') throw errors.modelExists(name);
      if (use === 'former') throw errors.modelExists(name, 'is the former name of a renamed model and still resolves to it');
      const now = this.deps.clock.now();
      // Two servers may create the same name at once: the loser's unique violation means exactly this.
      await repos.models.insert({
        id: this.deps.ids.uuid(),
        name,
        description: input.description ?? '',
        tags,
        owner,
        intendedUse: input.intendedUse ?? '',
        restrictions: input.restrictions ?? '',
        riskTier: input.riskTier ?? null,
        inventory,
        createdBy: ctx.actor.username,
        createdAt: now,
      }).catch((err: unknown) => {
        throw (err as { code?: string }).code === 'CONFLICT' ? errors.modelExists(name) : err;
      });
      const model = await requireModel(repos, name);
      log.record({
        action: 'model.created', resource: modelResource(model), subject: model.name,
        changes: { after: presentModel(model) }, data: { model: presentModel(model) },
      });
      return model;
    });
  }

  async get(name: string): Promise<Model> {
    return requireModel(this.deps.uow.read, name);
  }

  async list(input: ListModelsInput): Promise<{ models: Model[]; nextPageToken: string | null }> {
    const sort = input.sort ?? 'name';
    const descending = (input.order ?? (sort === 'name' ? 'asc' : 'desc')) === 'desc';
    const limit = input.pageSize ?? 50;
    const tags = (input.tags ?? []).map(parseTagFilter);
    const queryShape = { p: input.namePrefix ?? null, t: input.tags ?? [], a: !!input.includeArchived, r: input.riskTier ?? null, s: input.stage ?? null, sort, descending };
    const after = input.pageToken ? decodeCursor(input.pageToken, queryShape) : undefined;
    const models = await this.deps.uow.read.models.list({
      namePrefix: input.namePrefix, tags, riskTier: input.riskTier, withStage: input.stage,
      includeArchived: !!input.includeArchived, sort, descending, after, limit: limit + 1,
    });
    const page = models.slice(0, limit);
    const last = page[page.length - 1];
    const nextPageToken = models.length > limit && last
      ? encodePageToken(queryShape, { key: sortKey(last, sort), id: last.id })
      : null;
    return { models: page, nextPageToken };
  }

  async update(ctx: RequestContext, name: string, input: UpdateModelInput): Promise<Model> {
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, name);
      requireOwnerOrAdmin(ctx.actor, model, 'editing a model');
      if (model.archived) throw errors.modelArchived(model.name);
      const patch: ModelPatch = checkInventory(input);
      if (input.description !== undefined) patch.description = input.description;
      if (input.intendedUse !== undefined) patch.intendedUse = input.intendedUse;
      if (input.restrictions !== undefined) patch.restrictions = input.restrictions;
      if (input.riskTier !== undefined) patch.riskTier = input.riskTier;
      if (input.owner !== undefined) {
        if (!(await repos.users.findByUsername(checkUsername(input.owner)))) throw errors.userNotFound(input.owner);
        patch.owner = input.owner;
      }
      if (input.tags !== undefined) patch.tags = mergeTags(model.tags, input.tags);
      const changed = diffFields(model, patch);
      if (Object.keys(changed).length === 0) return model;
      await repos.models.update(model.id, patch, this.deps.clock.now());
      const after = await requireModel(repos, model.name);
      log.record({
        action: 'model.updated', resource: modelResource(after), subject: after.name,
        changes: changed, data: { model: presentModel(after) },
      });
      return after;
    });
  }

  async rename(ctx: RequestContext, name: string, newName: string): Promise<Model> {
    checkModelName(newName);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, name);
      requireOwnerOrAdmin(ctx.actor, model, 'renaming a model');
      if (model.archived) throw errors.modelArchived(model.name);
      if (newName === model.name) return model;
      const use = await repos.models.nameUse(newName);
      if (use === 'current' || (use === 'former' && !model.formerNames.includes(newName))) throw errors.modelExists(newName);
      await repos.models.rename(model.id, model.name, newName, this.deps.clock.now());
      const after = await requireModel(repos, newName);
      log.record({
        action: 'model.renamed', resource: modelResource(after), subject: after.name,
        changes: { name: { from: model.name, to: newName } }, data: { model: presentModel(after), previous_name: model.name },
      });
      return after;
    });
  }

  async archive(ctx: RequestContext, name: string): Promise<Model> {
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, name);
      requireOwnerOrAdmin(ctx.actor, model, 'archiving a model');
      if (model.archived) return model;
      const live = await repos.versions.newestInStage(model.id, 'production');
      if (live) {
        throw new ModelgateError('MODEL_IN_PRODUCTION',
          `model ${JSON.stringify(model.name)} has version ${live.version} in production; archive that version first`,
          { model: model.name, version: live.version });
      }
      // Nothing may be approved into an archived model: open requests are withdrawn with it.
      await cancelPendingPromotions(repos, log, this.deps.clock, model, ctx.actor.username, 'model archived');
      await repos.models.update(model.id, { archived: true }, this.deps.clock.now());
      const after = await requireModel(repos, model.name);
      log.record({
        action: 'model.archived', resource: modelResource(after), subject: after.name,
        changes: { archived: { from: false, to: true } }, data: { model: presentModel(after) },
      });
      return after;
    });
  }
}

function requireOwnerOrAdmin(actor: Actor, model: Model, action: string): void {
  requireRole(actor, 'contributor', action);
  if (hasRole(actor, 'admin') || actor.username === model.owner || actor.username === model.createdBy) return;
  throw errors.forbidden(`${action} is reserved to the model's owner (${model.owner}) and admins`);
}

export function mergeTags(current: Tags, patch: Record<string, string | null>): Tags {
  const merged: Tags = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return checkTags(merged);
}

/** The fields of `patch` that differ from `current`, as {field: {from, to}}. */
export function diffFields(current: object, patch: object): Record<string, { from: unknown; to: unknown }> {
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries(patch)) {
    const from = (current as Record<string, unknown>)[key];
    if (JSON.stringify(from) !== JSON.stringify(to)) changed[snake(key)] = { from, to };
  }
  return changed;
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function sortKey(model: Model, sort: ModelSort): string {
  return sort === 'name' ? model.name : sort === 'created_at' ? model.createdAt : model.updatedAt;
}
