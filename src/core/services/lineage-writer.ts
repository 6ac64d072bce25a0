/**
 * Turns a version's declared lineage into checked records and indexed edges: datasets it
 * names are found or registered (audited), parents must exist, and a code commit is indexed,
 * so impact queries can walk from any of them to every version built on it.
 */
import type { CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { ChangeLog } from '../journal.js';
import { checkDigest, checkModelName } from '../names.js';
import type { Repositories } from '../ports.js';
import { ParentRelations, type Dataset, type DatasetRef, type Lineage } from '../types.js';
import { checkDatasetName, checkDatasetVersion, presentDataset } from './dataset-service.js';

export const DatasetRoles = ['train', 'validation', 'test', 'evaluation'] as const;

/** Validates declared lineage before any transaction opens. */
export function normaliseLineage(lineage: Partial<Lineage> | undefined): Lineage {
  const datasets = lineage?.datasets ?? [];
  for (const dataset of datasets) {
    checkDatasetName(dataset.name);
    checkDatasetVersion(dataset.version);
    if (!(DatasetRoles as readonly string[]).includes(dataset.role)) {
      throw errors.validation(`dataset role ${JSON.stringify(dataset.role)} must be one of ${DatasetRoles.join(', ')}`, { dataset: dataset.name });
    }
    if (dataset.digest !== undefined) checkDigest(dataset.digest);
  }
  const parents = lineage?.parents ?? [];
  for (const parent of parents) {
    checkModelName(parent.model);
    if (parent.relation !== undefined && !(ParentRelations as readonly string[]).includes(parent.relation)) {
      throw errors.validation(`parent relation must be one of ${ParentRelations.join(', ')}`, { parent });
    }
  }
  return {
    datasets,
    code: lineage?.code ?? null,
    run: lineage?.run ?? null,
    parents: parents.map((p) => ({ ...p, relation: p.relation ?? 'fine_tuned_from' })),
    environment: lineage?.environment ?? null,
  };
}

/** Parents must exist before the version does: lineage that points nowhere is worse than none. */
export async function resolveParents(repos: Repositories, lineage: Lineage): Promise<{ parentId: string; relation: string }[]> {
  const out: { parentId: string; relation: string }[] = [];
  for (const parent of lineage.parents) {
    const model = await repos.models.findByName(parent.model);
    const version = model ? await repos.versions.get(model.id, parent.version) : null;
    if (!version) throw new ModelgateError('VERSION_NOT_FOUND', `parent ${parent.model} version ${parent.version} does not exist`, { parent });
    out.push({ parentId: version.id, relation: parent.relation ?? 'fine_tuned_from' });
  }
  return out;
}

/** Writes the edges of a new version, registering datasets met for the first time. */
export async function linkLineage(deps: CoreDeps, repos: Repositories, log: ChangeLog, actor: string, versionId: string, lineage: Lineage, parents: { parentId: string; relation: string }[]): Promise<void> {
  const datasets: { datasetId: string; role: string }[] = [];
  // In one order everywhere, so two versions naming the same new datasets cannot deadlock.
  const ordered = [...lineage.datasets].sort((a, b) => (a.name + '@' + a.version < b.name + '@' + b.version ? -1 : 1));
  for (const ref of ordered) {
    const dataset = await ensureDataset(deps, repos, log, actor, ref);
    datasets.push({ datasetId: dataset.id, role: ref.role });
  }
  await repos.lineage.link(versionId, { datasets, parents, code: lineage.code ? { repo: lineage.code.repo, commit: lineage.code.commit } : null });
}

async function ensureDataset(deps: CoreDeps, repos: Repositories, log: ChangeLog, actor: string, ref: DatasetRef): Promise<Dataset> {
  const known = await repos.datasets.find(ref.name, ref.version);
  if (known) {
    if (ref.digest !== undefined && known.digest !== null && known.digest !== ref.digest) {
      throw new ModelgateError('CONFLICT', `dataset ${ref.name}@${ref.version} is registered with digest ${known.digest}, not ${ref.digest}`,
        { dataset: `${ref.name}@${ref.version}`, registered: known.digest, given: ref.digest });
    }
    return known;
  }
  // Another version may register the same dataset at this moment: whoever inserts first wins.
  const { dataset, created } = await repos.datasets.insertIfAbsent({
    id: deps.ids.uuid(), name: ref.name, version: ref.version, uri: ref.uri ?? null, digest: ref.digest ?? null, size: null,
    description: '', schema: null, tags: {}, createdBy: actor, createdAt: deps.clock.now(),
  });
  if (!created) return ensureDataset(deps, repos, log, actor, ref);
  log.record({
    action: 'dataset.created', resource: `datasets/${dataset.name}/versions/${dataset.version}`, subject: '',
    changes: { name: dataset.name, version: dataset.version, uri: dataset.uri, digest: dataset.digest, because: 'named by a version' },
    data: { dataset: presentDataset(dataset) },
  });
  return dataset;
}
