/** The deploy-time lookup: `production`, `staging`, `@alias` or a number → one ready version. */
import type { CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { Version } from '../types.js';
import { requireModel, requireVersion } from './lookup.js';

const resolveKey = (modelName: string, ref: string) => `resolve\0${modelName}\0${ref}`;

export class ResolveService {
  constructor(private readonly deps: CoreDeps) {}

  /**
   * Remembered until the next commit anywhere: one check of the database instead of three
   * lookups (`notBefore` as for UnitOfWork.remember).
   */
  resolve(modelName: string, ref: string, notBefore?: number): Promise<Version> {
    const load = () => this.lookup(modelName, ref);
    return this.deps.uow.remember ? this.deps.uow.remember(resolveKey(modelName, ref), load, notBefore) : load();
  }

  /** What `resolve` answered for these arguments, if it still holds and that is known without waiting (see UnitOfWork.recall). */
  remembered(modelName: string, ref: string): Version | undefined {
    return this.deps.uow.recall?.<Version>(resolveKey(modelName, ref));
  }

  private async lookup(modelName: string, ref: string): Promise<Version> {
    const repos = this.deps.uow.read;
    const model = await requireModel(repos, modelName);
    let version: Version;
    if (ref === 'production' || ref === 'staging') {
      // Staging may hold several candidates: the newest one answers.
      const newest = await repos.versions.newestInStage(model.id, ref);
      if (!newest) throw new ModelgateError('VERSION_NOT_FOUND', `model ${JSON.stringify(model.name)} has no version in ${ref}`, { model: model.name, ref });
      version = newest;
    } else if (ref.startsWith('@')) {
      const alias = await repos.aliases.get(model.id, ref.slice(1));
      if (!alias) throw errors.aliasNotFound(model.name, ref.slice(1));
      version = await requireVersion(repos, model, alias.version);
    } else if (/^[1-9][0-9]{0,9}$/.test(ref)) {
      version = await requireVersion(repos, model, Number(ref));
    } else {
      throw errors.invalidRef(ref);
    }
    if (version.status !== 'ready') {
      throw new ModelgateError('VERSION_NOT_READY', `version ${version.version} of ${model.name} is ${version.status}`, { status: version.status });
    }
    return version;
  }
}
