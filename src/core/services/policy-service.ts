/** The server default policy and per-model policies: read, replace (audited), and resolve per target. */
import { hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { RequestContext } from '../journal.js';
import { DEFAULT_POLICY, effectivePolicy, parsePolicy, presentPolicy, weakenings, type Policy } from '../policy.js';
import type { Repositories } from '../ports.js';
import type { Model } from '../types.js';
import { lockModel, modelResource, requireModel } from './lookup.js';

const SERVER_SCOPE = '*';

export interface ModelPolicyView {
  model: string;
  /** The rules in force: the model's own, target by target, over the server default. */
  effective: Policy;
  own: Policy | null;
  serverDefault: Policy;
}

/** The server default as stored, or the built-in one. */
export async function loadDefaultPolicy(repos: Repositories): Promise<Policy> {
  const stored = await repos.policies.get(SERVER_SCOPE);
  return stored ? parsePolicy(stored.document) : DEFAULT_POLICY;
}

export async function loadModelPolicy(repos: Repositories, model: Model): Promise<Policy | null> {
  const stored = await repos.policies.get(model.id);
  return stored ? parsePolicy(stored.document) : null;
}

export async function loadEffectivePolicy(repos: Repositories, model: Model): Promise<Policy> {
  return effectivePolicy(await loadDefaultPolicy(repos), await loadModelPolicy(repos, model));
}

export class PolicyService {
  constructor(private readonly deps: CoreDeps) {}

  async getDefault(): Promise<Policy> {
    return loadDefaultPolicy(this.deps.uow.read);
  }

  async setDefault(ctx: RequestContext, document: unknown): Promise<Policy> {
    requireRole(ctx.actor, 'admin', 'changing the server default policy');
    const policy = parsePolicy(document);
    return change(this.deps, ctx, async (repos, log) => {
      const before = await loadDefaultPolicy(repos);
      await repos.policies.put(SERVER_SCOPE, presentPolicy(policy), ctx.actor.username, this.deps.clock.now());
      log.record({
        action: 'policy.updated', resource: 'policy', subject: '',
        changes: { scope: 'server', from: presentPolicy(before), to: presentPolicy(policy) },
        data: { scope: 'server', policy: presentPolicy(policy) },
      });
      return policy;
    });
  }

  async getForModel(name: string): Promise<ModelPolicyView> {
    const repos = this.deps.uow.read;
    const model = await requireModel(repos, name);
    const serverDefault = await loadDefaultPolicy(repos);
    const own = await loadModelPolicy(repos, model);
    return { model: model.name, effective: effectivePolicy(serverDefault, own), own, serverDefault };
  }

  /** Replaces the model's own policy; admins and the model's owner may. */
  async setForModel(ctx: RequestContext, name: string, document: unknown): Promise<ModelPolicyView> {
    requireRole(ctx.actor, 'contributor', "changing a model's policy");
    const policy = parsePolicy(document);
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, name);
      if (!hasRole(ctx.actor, 'admin') && ctx.actor.username !== model.owner) {
        throw errors.forbidden(`only the model's owner (${model.owner}) and admins may change its policy`);
      }
      const before = await loadModelPolicy(repos, model);
      const serverDefault = await loadDefaultPolicy(repos);
      const loosened = weakenings(serverDefault, policy);
      if (loosened.length > 0 && !hasRole(ctx.actor, 'admin')) {
        throw new ModelgateError('POLICY_WEAKENS_DEFAULT',
          `a model's owner may only tighten the server default policy; this would loosen it: ${loosened.join('; ')}`, { weakenings: loosened });
      }
      await repos.policies.put(model.id, presentPolicy(policy), ctx.actor.username, this.deps.clock.now());
      log.record({
        action: 'policy.updated', resource: `${modelResource(model)}/policy`, subject: model.name,
        changes: { scope: 'model', from: before ? presentPolicy(before) : null, to: presentPolicy(policy), ...(loosened.length > 0 ? { admin_override: loosened } : {}) },
        data: { scope: 'model', model: model.name, policy: presentPolicy(policy), effective: presentPolicy(effectivePolicy(serverDefault, policy)) },
      });
      return { model: model.name, effective: effectivePolicy(serverDefault, policy), own: policy, serverDefault };
    });
  }
}
