/** Model versions: register (from uploaded blobs or an external source), read, list, edit, delete. */
import { createHash } from 'node:crypto';
import { hasRole, requireRole } from '../access.js';
import { canonicalJson } from '../canonical-json.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import { parseMetricFilter, parseTagFilter } from '../filters.js';
import type { RequestContext } from '../journal.js';
import { checkDigest, checkFilePath, checkMetricName, checkTags } from '../names.js';
import { decodePageToken, encodePageToken } from '../page-token.js';
import { presentVersion } from '../present.js';
import type { Lineage, ManifestFile, Stage, Tags, Version } from '../types.js';
import { linkLineage, normaliseLineage, resolveParents } from './lineage-writer.js';
import { mergeTags, diffFields } from './model-service.js';
import { lockModel, requireModel, requireVersion, versionResource } from './lookup.js';
import { TargetMover } from './target-mover.js';

export interface CreateVersionInput {
  files?: ManifestFile[];
  sourceUri?: string;
  digest?: string;
  /** Accept a source URI whose bytes' digest the client does not know (the MLflow front door). */
  digestUnknown?: boolean;
  metrics?: Record<string, number>;
  params?: Record<string, string>;
  tags?: Tags;
  description?: string;
  modelCard?: string;
  signature?: unknown;
  lineage?: Partial<Lineage>;
}

export interface UpdateVersionInput {
  description?: string;
  tags?: Record<string, string | null>;
  modelCard?: string | null;
}

export interface ListVersionsInput {
  stage?: Stage;
  tags?: string[];
  filters?: string[];
  createdAfter?: string;
  order?: 'asc' | 'desc';
  pageSize?: number;
  pageToken?: string;
}

const versionKey = (modelName: string, number: number) => `version\0${modelName}\0${number}`;

export class VersionService {
  private readonly mover: TargetMover;

  constructor(private readonly deps: CoreDeps) {
    this.mover = new TargetMover(deps.clock, deps.ids);
  }

  async create(ctx: RequestContext, modelName: string, input: CreateVersionInput): Promise<Version> {
    requireRole(ctx.actor, 'contributor', 'registering a version');
    const manifest = await this.checkSource(input);
    const metrics = checkMetrics(input.metrics ?? {});
    const params = checkParams(input.params ?? {});
    const tags = checkTags(input.tags ?? {});
    const lineage = normaliseLineage(input.lineage);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      const parents = await resolveParents(repos, lineage);
      const now = this.deps.clock.now();
      // Inside the transaction, so garbage collection cannot take a blob this version is about to point to.
      const gone = await repos.blobRecords.reference(manifest.files.map((f) => f.digest), now);
      if (gone.length > 0) throw new ModelgateError('BLOB_NOT_FOUND', `blob ${gone[0]} is no longer stored; upload it again`, { digest: gone[0] });
      const number = await repos.models.takeVersionNumber(model.id);
      const version = await repos.versions.insert({
        id: this.deps.ids.uuid(),
        modelId: model.id,
        model: model.name,
        version: number,
        digest: manifest.digest,
        status: 'ready',
        stage: 'development',
        files: manifest.files,
        sourceUri: manifest.sourceUri,
        metrics,
        params,
        tags,
        description: input.description ?? '',
        modelCard: input.modelCard ?? null,
        signature: input.signature ?? null,
        lineage,
        createdBy: ctx.actor.username,
        createdAt: now,
      });
      await linkLineage(this.deps, repos, log, ctx.actor.username, version.id, lineage, parents);
      log.record({
        action: 'version.created', resource: versionResource(version), subject: model.name,
        changes: { version: number, digest: version.digest, files: version.files.length, source_uri: version.sourceUri },
        data: { version: presentVersion(version) },
      });
      return version;
    });
  }

  /** The newest version in each stage (all stages, or the ones named): MLflow's "latest versions". */
  async latestPerStage(modelName: string, stages: Stage[] = ['development', 'staging', 'production', 'archived']): Promise<Version[]> {
    const repos = this.deps.uow.read;
    const model = await requireModel(repos, modelName);
    const out: Version[] = [];
    for (const stage of stages) {
      const newest = await repos.versions.newestInStage(model.id, stage);
      if (newest) out.push(newest);
    }
    return out;
  }

  /** Remembered until the next commit anywhere, like resolve. */
  get(modelName: string, number: number, notBefore?: number): Promise<Version> {
    const repos = this.deps.uow.read;
    const load = async () => requireVersion(repos, await requireModel(repos, modelName), number);
    return this.deps.uow.remember ? this.deps.uow.remember(versionKey(modelName, number), load, notBefore) : load();
  }

  /** What `get` answered for these arguments, if it still holds and that is known without waiting (see UnitOfWork.recall). */
  remembered(modelName: string, number: number): Version | undefined {
    return this.deps.uow.recall?.<Version>(versionKey(modelName, number));
  }

  async list(modelName: string, input: ListVersionsInput): Promise<{ versions: Version[]; nextPageToken: string | null }> {
    const repos = this.deps.uow.read;
    const model = await requireModel(repos, modelName);
    const limit = input.pageSize ?? 50;
    const metrics = (input.filters ?? []).map(parseMetricFilter);
    const tags = (input.tags ?? []).map(parseTagFilter);
    if (input.createdAfter !== undefined && Number.isNaN(Date.parse(input.createdAfter))) {
      throw errors.validation('created_after must be an ISO-8601 time', { created_after: input.createdAfter });
    }
    const createdAfter = input.createdAfter === undefined ? undefined : new Date(input.createdAfter).toISOString();
    const ascending = input.order === 'asc';
    const shape = { m: model.id, s: input.stage ?? null, t: input.tags ?? [], f: input.filters ?? [], c: createdAfter ?? null, ascending };
    let afterVersion: number | undefined;
    if (input.pageToken) {
      const position = decodePageToken(input.pageToken, shape);
      if (typeof position !== 'number' || !Number.isInteger(position)) throw errors.invalidPageToken();
      afterVersion = position;
    }
    const versions = await repos.versions.list(model.id, {
      stage: input.stage, tags, metrics, createdAfter, ascending, afterVersion, limit: limit + 1,
    });
    const page = versions.slice(0, limit);
    const last = page[page.length - 1];
    return { versions: page, nextPageToken: versions.length > limit && last ? encodePageToken(shape, last.version) : null };
  }

  async update(ctx: RequestContext, modelName: string, number: number, input: UpdateVersionInput): Promise<Version> {
    requireRole(ctx.actor, 'contributor', 'editing a version');
    if (input.modelCard !== undefined && input.modelCard !== null) checkCard(input.modelCard);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      if (model.archived) throw errors.modelArchived(model.name);
      const version = await requireVersion(repos, model, number);
      const patch: Partial<Version> = {};
      if (input.description !== undefined) patch.description = input.description;
      if (input.modelCard !== undefined) patch.modelCard = input.modelCard;
      if (input.tags !== undefined) patch.tags = mergeTags(version.tags, input.tags);
      const changed = diffFields(version, patch);
      if (Object.keys(changed).length === 0) return version;
      await repos.versions.update(version.id, patch, this.deps.clock.now());
      const after = await requireVersion(repos, model, number);
      log.record({
        action: 'version.updated', resource: versionResource(after), subject: model.name,
        changes: changed, data: { version: presentVersion(after) },
      });
      return after;
    });
  }

  /** Soft-deletes a version that never left development; its aliases go with it. */
  async delete(ctx: RequestContext, modelName: string, number: number): Promise<void> {
    requireRole(ctx.actor, 'contributor', 'deleting a version');
    await change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      const version = await requireVersion(repos, model, number);
      if (version.createdBy !== ctx.actor.username && !hasRole(ctx.actor, 'approver')) {
        throw errors.forbidden(`only the version's creator (${version.createdBy}), approvers and admins may delete it`);
      }
      if (version.stage !== 'development' || version.leftDevelopmentAt !== null) {
        throw new ModelgateError('VERSION_NOT_DELETABLE',
          `version ${number} of ${model.name} has left development (it is ${version.stage}); it can only be archived`,
          { model: model.name, version: number, stage: version.stage });
      }
      for (const alias of version.aliases) await this.mover.removeAlias(repos, log, model, alias, number, 'version deleted');
      await repos.versions.markDeleted(version.id, this.deps.clock.now());
      log.record({
        action: 'version.deleted', resource: versionResource(version), subject: model.name,
        changes: { deleted: true }, data: { version: { ...presentVersion(version), aliases: [] } },
      });
    });
  }

  private async checkSource(input: CreateVersionInput): Promise<{ files: ManifestFile[]; sourceUri: string | null; digest: string }> {
    const hasFiles = input.files !== undefined && input.files.length > 0;
    if (hasFiles === (input.sourceUri !== undefined)) {
      throw errors.validation('give either files (uploaded blobs) or source_uri with its digest, not both and not neither');
    }
    if (!hasFiles) {
      const uri = input.sourceUri!;
      if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(uri) || uri.length > 2048) throw errors.validation(`source_uri ${JSON.stringify(uri.slice(0, 100))} is not an absolute URI`);
      if (input.digest === undefined) {
        if (!input.digestUnknown) throw errors.validation('source_uri needs the digest of the bytes it points to');
        // The client cannot say what the bytes hash to (MLflow never does): the version's digest
        // then identifies its manifest, the URI itself, and says nothing about the bytes.
        return { files: [], sourceUri: uri, digest: `sha256:${createHash('sha256').update(canonicalJson({ source_uri: uri })).digest('hex')}` };
      }
      return { files: [], sourceUri: uri, digest: checkDigest(input.digest) };
    }
    if (input.digest !== undefined) throw errors.validation('digest is computed from files; give it only with source_uri');
    const seen = new Set<string>();
    const files: ManifestFile[] = [];
    for (const file of input.files!) {
      checkFilePath(file.path);
      checkDigest(file.digest);
      if (seen.has(file.path)) throw errors.invalidPath(file.path, 'listed twice');
      seen.add(file.path);
      files.push({ path: file.path, digest: file.digest, size: file.size });
    }
    // Blob bytes are checked before the transaction: bytes never move inside one.
    for (const file of files) {
      const blob = await this.deps.blobs.stat(file.digest);
      if (!blob) throw new ModelgateError('BLOB_NOT_FOUND', `file ${JSON.stringify(file.path)} refers to ${file.digest}, which was never uploaded`, { path: file.path, digest: file.digest });
      if (blob.size !== file.size) throw errors.sizeMismatch(file.path, file.size, blob.size);
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, sourceUri: null, digest: manifestDigest(files) };
  }
}

/** The version digest: sha256 over the canonical manifest (files sorted by path). */
export function manifestDigest(files: ManifestFile[]): string {
  return `sha256:${createHash('sha256').update(canonicalJson(files)).digest('hex')}`;
}

function checkMetrics(metrics: Record<string, number>): Record<string, number> {
  if (Object.keys(metrics).length > 1000) throw errors.validation('at most 1000 metrics');
  for (const [name, value] of Object.entries(metrics)) {
    checkMetricName(name);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw errors.validation(`metric ${name} must be a finite number`, { metric: name });
  }
  return metrics;
}

function checkParams(params: Record<string, string>): Record<string, string> {
  if (Object.keys(params).length > 1000) throw errors.validation('at most 1000 params');
  for (const [name, value] of Object.entries(params)) {
    checkMetricName(name);
    if (value.length > 6000) throw errors.validation(`param ${name} is longer than 6000 characters`, { param: name });
  }
  return params;
}

function checkCard(card: string): void {
  if (card.length > 1_000_000) throw errors.validation('model_card is longer than 1,000,000 characters');
}

