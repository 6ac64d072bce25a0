/**
 * What is actually running, where, since when. A stage says what is approved; deployments are
 * reported by deployment systems, and a production environment can refuse to record a
 * version that is not approved for production, so "approved" and "running" never drift apart
 * unnoticed.
 */
import { requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { presentDeployment } from '../present.js';
import type { Repositories } from '../ports.js';
import { DeploymentStatuses, type Deployment, type DeploymentChange, type DeploymentStatus, type Environment, type Model } from '../types.js';
import { lockModel, modelResource, requireModel, requireVersion } from './lookup.js';

const ENV = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface DeploymentInput {
  environment: string;
  target: string;
  version: number;
  status: string;
  replicas?: number | null;
  trafficShare?: number | null;
  source?: string;
  note?: string;
}

export interface DeploymentView {
  deployment: Deployment;
  /** True when it runs in a production environment a version that is not approved for production. */
  drift: boolean;
}

export class DeploymentService {
  constructor(private readonly deps: CoreDeps) {}

  async putEnvironment(ctx: RequestContext, name: string, input: { production: boolean; requireApproved?: boolean; description?: string }): Promise<Environment> {
    requireRole(ctx.actor, 'admin', 'configuring an environment');
    if (!ENV.test(name)) throw errors.invalidName('environment', name, 'a letter or digit, then up to 63 of A-Z a-z 0-9 . _ -');
    return change(this.deps, ctx, async (repos, log) => {
      const env: Environment = {
        name, production: input.production, requireApproved: input.requireApproved ?? input.production, description: input.description ?? '',
        updatedBy: ctx.actor.username, updatedAt: this.deps.clock.now(),
      };
      await repos.deployments.putEnvironment(env);
      log.record({
        action: 'environment.updated', resource: `environments/${name}`, subject: '',
        changes: { production: env.production, require_approved: env.requireApproved }, data: { environment: { name, production: env.production, require_approved: env.requireApproved } },
      });
      return env;
    });
  }

  async environments(): Promise<Environment[]> {
    return this.deps.uow.read.deployments.environments();
  }

  async record(ctx: RequestContext, modelName: string, input: DeploymentInput): Promise<DeploymentView> {
    requireRole(ctx.actor, 'contributor', 'recording a deployment');
    const status = checkInput(input);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      const env = await this.checkApproved(repos, model, input.environment, input.version);
      const now = this.deps.clock.now();
      const deployment: Deployment = {
        id: this.deps.ids.uuid(), modelId: model.id, model: model.name, version: input.version, environment: input.environment,
        target: input.target, status, replicas: input.replicas ?? null, trafficShare: input.trafficShare ?? null,
        source: input.source ?? '', reportedBy: ctx.actor.username, createdAt: now, updatedAt: now,
      };
      await repos.deployments.insert(deployment);
      await this.addChange(repos, deployment, ctx.actor.username, input.note ?? 'recorded');
      log.record({
        action: 'deployment.recorded', resource: `${modelResource(model)}/deployments/${deployment.id}`, subject: model.name,
        changes: { environment: deployment.environment, target: deployment.target, version: deployment.version, status, source: deployment.source },
        data: { deployment: presentDeployment(deployment) },
      });
      return { deployment, drift: await this.drift(repos, env, deployment) };
    });
  }

  async update(ctx: RequestContext, id: string, input: Partial<Omit<DeploymentInput, 'environment' | 'target'>>): Promise<DeploymentView> {
    requireRole(ctx.actor, 'contributor', 'updating a deployment');
    if (input.status !== undefined && !(DeploymentStatuses as readonly string[]).includes(input.status)) {
      throw errors.validation(`status must be one of ${DeploymentStatuses.join(', ')}`);
    }
    checkShares(input.replicas, input.trafficShare);
    return change(this.deps, ctx, async (repos, log) => {
      const found = await repos.deployments.get(id);
      if (!found) throw new ModelgateError('NOT_FOUND', `deployment ${id} does not exist`, { deployment_id: id });
      const model = await lockModel(repos, found.model);
      const before = (await repos.deployments.get(id))!;
      const version = input.version ?? before.version;
      const env = version !== before.version ? await this.checkApproved(repos, model, before.environment, version) : await repos.deployments.environment(before.environment);
      const after: Deployment = {
        ...before, version, status: (input.status as DeploymentStatus | undefined) ?? before.status,
        replicas: input.replicas === undefined ? before.replicas : input.replicas,
        trafficShare: input.trafficShare === undefined ? before.trafficShare : input.trafficShare,
        updatedAt: this.deps.clock.now(),
      };
      await repos.deployments.update(id, after);
      await this.addChange(repos, after, ctx.actor.username, input.note ?? '');
      log.record({
        action: 'deployment.updated', resource: `${modelResource(model)}/deployments/${id}`, subject: model.name,
        changes: diff(before, after), data: { deployment: presentDeployment(after) },
      });
      return { deployment: after, drift: await this.drift(repos, env, after) };
    });
  }

  /** Newest first; `active` keeps what is deploying or serving now ("what runs where"). */
  async list(input: { model?: string; environment?: string; active?: boolean; limit?: number }): Promise<DeploymentView[]> {
    const repos = this.deps.uow.read;
    const model = input.model === undefined ? undefined : await requireModel(repos, input.model);
    const rows = await repos.deployments.list({ modelId: model?.id, environment: input.environment, active: input.active, limit: input.limit ?? 200 });
    const envs = new Map((await repos.deployments.environments()).map((e) => [e.name, e]));
    const out: DeploymentView[] = [];
    for (const d of rows) out.push({ deployment: d, drift: await this.drift(repos, envs.get(d.environment) ?? null, d) });
    return out;
  }

  async history(id: string): Promise<{ deployment: Deployment; changes: DeploymentChange[] }> {
    const repos = this.deps.uow.read;
    const deployment = await repos.deployments.get(id);
    if (!deployment) throw new ModelgateError('NOT_FOUND', `deployment ${id} does not exist`, { deployment_id: id });
    return { deployment, changes: await repos.deployments.changes(id) };
  }

  /** The deployment policy of a production environment: only versions approved for production. */
  private async checkApproved(repos: Repositories, model: Model, environment: string, number: number): Promise<Environment | null> {
    const version = await requireVersion(repos, model, number);
    const env = await repos.deployments.environment(environment);
    if (env?.production && env.requireApproved && version.stage !== 'production') {
      throw new ModelgateError('NOT_APPROVED_FOR_PRODUCTION',
        `${environment} is a production environment and version ${number} of ${model.name} is ${version.stage}, not approved for production`,
        { environment, version: number, stage: version.stage });
    }
    return env;
  }

  private async drift(repos: Repositories, env: Environment | null, d: Deployment): Promise<boolean> {
    if (!env?.production || (d.status !== 'serving' && d.status !== 'deploying')) return false;
    const version = await repos.versions.get(d.modelId, d.version, true);
    return version?.stage !== 'production';
  }

  private async addChange(repos: Repositories, d: Deployment, actor: string, note: string): Promise<void> {
    await repos.deployments.addChange({
      id: this.deps.ids.uuid(), deploymentId: d.id, at: d.updatedAt, actor, status: d.status, replicas: d.replicas, trafficShare: d.trafficShare, note,
    });
  }
}

function checkInput(input: DeploymentInput): DeploymentStatus {
  if (!ENV.test(input.environment)) throw errors.invalidName('environment', input.environment, 'a letter or digit, then up to 63 of A-Z a-z 0-9 . _ -');
  if (input.target.trim() === '' || input.target.length > 256) throw errors.validation('target must be 1-256 characters, e.g. prod-eu/fraud-api');
  if (!(DeploymentStatuses as readonly string[]).includes(input.status)) throw errors.validation(`status must be one of ${DeploymentStatuses.join(', ')}`);
  checkShares(input.replicas, input.trafficShare);
  return input.status as DeploymentStatus;
}

function checkShares(replicas: number | null | undefined, share: number | null | undefined): void {
  if (replicas !== undefined && replicas !== null && (!Number.isInteger(replicas) || replicas < 0)) throw errors.validation('replicas must be a whole number, 0 or more');
  if (share !== undefined && share !== null && !(share >= 0 && share <= 1)) throw errors.validation('traffic_share must be between 0 and 1');
}

function diff(before: Deployment, after: Deployment): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, field] of [['version', 'version'], ['status', 'status'], ['replicas', 'replicas'], ['traffic_share', 'trafficShare']] as const) {
    if (before[field] !== after[field]) out[key] = { from: before[field], to: after[field] };
  }
  return out;
}

