/** Lookups that every service repeats: a model by name, a version by number, with clear errors. */
import { errors } from '../errors.js';
import type { Repositories } from '../ports.js';
import type { Model, Version } from '../types.js';

export async function requireModel(repos: Repositories, name: string): Promise<Model> {
  const model = await repos.models.findByName(name);
  if (!model) throw errors.modelNotFound(name);
  return model;
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
