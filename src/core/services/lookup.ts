/** Lookups that every service repeats: a model by name, a version by number, with clear errors. */
import { errors } from '../errors.js';
import type { Repositories } from '../ports.js';
import type { Model, Version } from '../types.js';

export async function requireModel(repos: Repositories, name: string): Promise<Model> {
  const model = await repos.models.findByName(name);
  if (!model) throw errors.modelNotFound(name);
  return model;
}

/**
 * Finds a model and locks its row until the transaction ends, then reads it again: what the
 * caller sees is what it is changing, even when another server changed it a moment before.
 * Every write that depends on a model's state starts here.
 */
export async function lockModel(repos: Repositories, name: string): Promise<Model> {
  const found = await requireModel(repos, name);
  // Without row locks the transaction is the only writer: the row just read is current.
  if (!(await repos.models.lock(found.id))) return found;
  const fresh = await repos.models.findById(found.id);
  if (!fresh) throw errors.modelNotFound(name);
  return fresh;
}

export async function requireVersion(repos: Repositories, model: Model, version: number): Promise<Version> {
  const found = await repos.versions.get(model.id, version);
  if (!found) throw errors.versionNotFound(model.name, version);
  return found;
}

export function modelResource(model: Model | string): string {
  return `models/${typeof model === 'string' ? model : model.name}`;
}

export function versionResource(version: Version): string {
  return `models/${version.model}/versions/${version.version}`;
}
