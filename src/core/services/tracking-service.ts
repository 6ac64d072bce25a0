/**
 * Just enough experiment tracking for an MLflow client to log a run and register its model:
 * experiments, runs with params, metrics and tags, and artifacts stored in the blob store.
 * A version registered from a run's artifacts gets its files, digests, metrics, params and
 * run lineage from them.
 */
import { requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { checkFilePath, checkMetricName } from '../names.js';
import type { Actor, Artifact, Experiment, ManifestFile, Run, RunMetric } from '../types.js';
import { BlobService } from './blob-service.js';

const ARTIFACT_ROOT = 'mlflow-artifacts:/';
const MAX_MANIFEST = 10_000;

export interface LogBatch {
  metrics?: { key: string; value: number; timestamp?: number; step?: number }[];
  params?: { key: string; value: string }[];
  tags?: { key: string; value: string }[];
}

export class TrackingService {
  constructor(private readonly deps: CoreDeps) {}

  async createExperiment(ctx: RequestContext, input: { name: string; artifactLocation?: string; tags?: Record<string, string> }): Promise<Experiment> {
    requireRole(ctx.actor, 'contributor', 'creating an experiment');
    const name = input.name.trim();
    if (name === '' || name.length > 500) throw errors.validation('experiment name must be 1-500 characters');
    return change(this.deps, ctx, async (repos, log) => {
      if (await repos.tracking.experimentByName(name)) throw new ModelgateError('MODEL_EXISTS', `Experiment '${name}' already exists.`);
      const id = this.deps.ids.uuid().replace(/-/g, '');
      const experiment: Experiment = {
        id, name, artifactLocation: input.artifactLocation ?? `${ARTIFACT_ROOT}${id}`, tags: input.tags ?? {},
        createdBy: ctx.actor.username, createdAt: this.deps.clock.now(),
      };
      await repos.tracking.insertExperiment(experiment);
      log.record({ action: 'experiment.created', resource: `experiments/${id}`, subject: '', changes: { name }, data: { experiment: { id, name } } });
      return experiment;
    });
  }

  async experiment(id: string): Promise<Experiment> {
    const found = await this.deps.uow.read.tracking.experiment(id);
    if (!found) throw new ModelgateError('NOT_FOUND', `No Experiment with id=${id} exists`);
    return found;
  }

  async experimentByName(name: string): Promise<Experiment> {
    const found = await this.deps.uow.read.tracking.experimentByName(name);
    if (!found) throw new ModelgateError('NOT_FOUND', `Could not find experiment with name '${name}'`);
    return found;
  }

  async createRun(ctx: RequestContext, input: { experimentId: string; name?: string; startTime?: number; tags?: Record<string, string> }): Promise<Run> {
    requireRole(ctx.actor, 'contributor', 'creating a run');
    return change(this.deps, ctx, async (repos, log) => {
      const experiment = await repos.tracking.experiment(input.experimentId);
      if (!experiment) throw new ModelgateError('NOT_FOUND', `No Experiment with id=${input.experimentId} exists`);
      const id = this.deps.ids.uuid().replace(/-/g, '');
      const run: Run = {
        id, experimentId: experiment.id, name: input.name ?? id.slice(0, 8), userId: ctx.actor.username, status: 'RUNNING',
        startTime: input.startTime ?? Date.parse(this.deps.clock.now()), endTime: null,
        artifactUri: `${experiment.artifactLocation}/${id}/artifacts`, tags: input.tags ?? {}, params: {}, metrics: {},
      };
      await repos.tracking.insertRun(run);
      log.record({ action: 'run.created', resource: `runs/${id}`, subject: '', changes: { experiment: experiment.name, name: run.name }, data: { run: { id, experiment_id: experiment.id } } });
      return run;
    });
  }

  async run(id: string): Promise<Run> {
    const found = await this.deps.uow.read.tracking.run(id);
    if (!found) throw new ModelgateError('NOT_FOUND', `Run with id=${id} not found`);
    return found;
  }

  async updateRun(ctx: RequestContext, id: string, input: { status?: Run['status']; endTime?: number; name?: string }): Promise<Run> {
    return this.mutateRun(ctx, id, 'run.updated', (run) => {
      if (input.status !== undefined) run.status = input.status;
      if (input.endTime !== undefined) run.endTime = input.endTime;
      if (input.name !== undefined) run.name = input.name;
      return { status: run.status, end_time: run.endTime };
    });
  }

  /** Logs metrics (latest value per key), params (write once, as in MLflow) and tags. */
  async logBatch(ctx: RequestContext, id: string, batch: LogBatch): Promise<Run> {
    const metrics = batch.metrics ?? [];
    const params = batch.params ?? [];
    const tags = batch.tags ?? [];
    if (metrics.length > 1000 || params.length > 100 || tags.length > 100) throw errors.validation('a batch holds at most 1000 metrics, 100 params and 100 tags');
    for (const m of metrics) {
      checkMetricName(m.key);
      if (typeof m.value !== 'number' || !Number.isFinite(m.value)) throw errors.validation(`metric ${m.key} must be a finite number`);
    }
    for (const p of params) {
      checkMetricName(p.key);
      if (p.value.length > 6000) throw errors.validation(`param ${p.key} is longer than 6000 characters`);
    }
    return this.mutateRun(ctx, id, 'run.logged', (run) => {
      for (const p of params) {
        if (run.params[p.key] !== undefined && run.params[p.key] !== p.value) {
          throw errors.validation(`Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${run.params[p.key]}'`);
        }
        run.params[p.key] = p.value;
      }
      for (const m of metrics) {
        const current = run.metrics[m.key];
        const next: RunMetric = { value: m.value, timestamp: m.timestamp ?? 0, step: m.step ?? 0 };
        if (!current || next.step > current.step || (next.step === current.step && next.timestamp >= current.timestamp)) run.metrics[m.key] = next;
      }
      for (const t of tags) run.tags[t.key] = t.value;
      return { metrics: metrics.length, params: params.length, tags: tags.length };
    });
  }

  /** Stores an artifact's bytes in the blob store, then records its path. `declaredSize`: the request's Content-Length. */
  async putArtifact(ctx: RequestContext, path: string, body: AsyncIterable<Uint8Array>, declaredSize?: number): Promise<Artifact> {
    requireRole(ctx.actor, 'contributor', 'uploading an artifact');
    const clean = checkFilePath(path);
    const blob = await new BlobService(this.deps).store(body, undefined, declaredSize);
    const artifact: Artifact = { path: clean, digest: blob.digest, size: blob.size };
    await change(this.deps, ctx, async (repos, log) => {
      const gone = await repos.blobRecords.reference([blob.digest], this.deps.clock.now());
      if (gone.length > 0) throw errors.blobNotFound(blob.digest);
      await repos.tracking.putArtifact(artifact, ctx.actor.username, this.deps.clock.now());
      log.record({ action: 'artifact.uploaded', resource: `artifacts/${clean}`, subject: '', changes: { digest: blob.digest, size: blob.size }, data: { artifact } });
    });
    return artifact;
  }

  async artifact(path: string): Promise<Artifact> {
    const found = await this.deps.uow.read.tracking.artifact(checkFilePath(path));
    if (!found) throw new ModelgateError('NOT_FOUND', `no artifact at ${path}`);
    return found;
  }

  /** The direct children of a directory: files with their sizes, and subdirectories. */
  async listArtifacts(dir: string): Promise<{ path: string; isDir: boolean; size?: number }[]> {
    const prefix = dir === '' ? '' : `${checkFilePath(dir.replace(/\/+$/, ''))}/`;
    const entries = new Map<string, { path: string; isDir: boolean; size?: number }>();
    for (const a of await this.deps.uow.read.tracking.artifactsUnder(prefix, MAX_MANIFEST)) {
      const rest = a.path.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) entries.set(rest, { path: rest, isDir: false, size: a.size });
      else entries.set(rest.slice(0, slash), { path: rest.slice(0, slash), isDir: true });
    }
    return [...entries.values()];
  }

  /**
   * The files of a model logged by a run (`runs:/<run>/<path>`) or uploaded through the artifact
   * proxy (`mlflow-artifacts:/<path>`), with their digests, and the run it came from; null for
   * sources held elsewhere (including runs another tracking server knows).
   */
  async manifestFor(source: string): Promise<{ files: ManifestFile[]; run: Run | null } | null> {
    const repos = this.deps.uow.read;
    let run: Run | null = null;
    let root: string;
    if (source.startsWith('runs:/')) {
      const [runId, ...rest] = source.slice('runs:/'.length).split('/');
      run = await repos.tracking.run(runId ?? '');
      // A run this server never saw was tracked elsewhere (a separate tracking server): an external source.
      if (!run) return null;
      root = `${run.artifactUri}/${rest.join('/')}`;
    } else if (source.startsWith(ARTIFACT_ROOT)) {
      root = source;
      const runId = source.slice(ARTIFACT_ROOT.length).split('/')[1];
      run = runId ? await repos.tracking.run(runId) : null;
    } else {
      return null;
    }
    const prefix = `${root.slice(ARTIFACT_ROOT.length).replace(/^\/+|\/+$/g, '')}/`;
    const artifacts = await repos.tracking.artifactsUnder(prefix, MAX_MANIFEST + 1);
    if (artifacts.length === 0) throw errors.validation(`no artifacts were uploaded under ${source}`);
    if (artifacts.length > MAX_MANIFEST) throw errors.validation(`more than ${MAX_MANIFEST} files under ${source}`);
    return { files: artifacts.map((a) => ({ path: a.path.slice(prefix.length), digest: a.digest, size: a.size })), run };
  }

  private async mutateRun(ctx: RequestContext, id: string, action: string, edit: (run: Run) => Record<string, unknown>): Promise<Run> {
    requireRole(ctx.actor, 'contributor', 'updating a run');
    return change(this.deps, ctx, async (repos, log) => {
      await repos.tracking.lockRun(id);
      const run = await repos.tracking.run(id);
      if (!run) throw new ModelgateError('NOT_FOUND', `Run with id=${id} not found`);
      ensureOwnRun(ctx.actor, run);
      const changes = edit(run);
      await repos.tracking.updateRun(run);
      log.record({ action, resource: `runs/${id}`, subject: '', changes, data: { run: { id, status: run.status } } });
      return run;
    });
  }
}

function ensureOwnRun(actor: Actor, run: Run): void {
  if (run.userId !== actor.username && actor.role !== 'admin') throw errors.forbidden(`run ${run.id} belongs to ${run.userId}`);
}
