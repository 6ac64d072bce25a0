/**
 * The two questions lineage answers. Upstream: what produced this version (datasets, code,
 * run, environment, and its parents' lineage, to a depth). Downstream: which versions, and
 * which of them in production, were built on this dataset, commit or parent version.
 */
import type { CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import type { ImpactSeed, ImpactedVersion, Repositories } from '../ports.js';
import type { Dataset, Stage, Version } from '../types.js';
import { checkDatasetName, checkDatasetVersion } from './dataset-service.js';
import { requireModel, requireVersion } from './lookup.js';

export interface LineageNode {
  id: string;
  kind: 'version' | 'dataset' | 'code' | 'run';
  [key: string]: unknown;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: string;
}

export interface LineageGraph {
  root: string;
  depth: number;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface Affected {
  model: string;
  version: number;
  stage: Stage;
  aliases: string[];
  direct: boolean;
}

const ROLE_EDGE: Record<string, string> = { train: 'trained_on', validation: 'validated_on', test: 'tested_on', evaluation: 'evaluated_on' };
const STAGE_ORDER: Record<Stage, number> = { production: 0, staging: 1, development: 2, archived: 3 };
const IMPACT_LIMIT = 100_000;

export class LineageService {
  constructor(private readonly deps: CoreDeps) {}

  async upstream(modelName: string, number: number, depth = 5): Promise<LineageGraph> {
    if (!Number.isInteger(depth) || depth < 0 || depth > 50) throw errors.validation('depth must be an integer from 0 to 50');
    const repos = this.deps.uow.read;
    const root = await requireVersion(repos, await requireModel(repos, modelName), number);
    // The same few statements whatever the depth: the versions upstream (one recursive walk),
    // then their records, datasets and parent links (one more of each per 500 versions).
    const reached = await repos.lineage.ancestors(root.id, depth);
    const depthOf = new Map(reached.map((a) => [a.versionId, a.depth]));
    depthOf.set(root.id, 0);
    const versions = new Map<string, Version>([[root.id, root]]);
    for (const v of await repos.versions.byIds(reached.filter((a) => a.versionId !== root.id).map((a) => a.versionId))) versions.set(v.id, v);
    const inner = [...versions.keys()].filter((id) => depthOf.get(id)! < depth);
    const [datasetLinks, parentLinks] = await Promise.all([repos.lineage.datasetsOf([...versions.keys()]), repos.lineage.parentsOf(inner)]);
    // Generation by generation, as a walk would draw it: each version's own provenance and
    // datasets, then the edges to its parents, whose nodes open the next generation.
    const generations = Array.from({ length: depth + 1 }, () => ({
      versions: [] as Version[], datasets: [] as typeof datasetLinks, parents: [] as typeof parentLinks,
    }));
    for (const v of versions.values()) generations[depthOf.get(v.id)!]!.versions.push(v);
    for (const link of datasetLinks) generations[depthOf.get(link.versionId)!]!.datasets.push(link);
    for (const link of parentLinks) generations[depthOf.get(link.versionId)!]!.parents.push(link);
    const nodes = new Map<string, LineageNode>();
    const edges: LineageEdge[] = [];
    for (const generation of generations) {
      for (const v of generation.versions) addVersion(nodes, v);
      for (const v of generation.versions) addProvenance(nodes, edges, v);
      for (const link of generation.datasets) {
        edges.push({ from: versionNodeId(versions.get(link.versionId)!), to: addDataset(nodes, link.dataset), kind: ROLE_EDGE[link.role] ?? link.role });
      }
      for (const link of generation.parents) {
        const parent = versions.get(link.parentId);
        if (parent) edges.push({ from: versionNodeId(versions.get(link.versionId)!), to: versionNodeId(parent), kind: link.relation });
      }
    }
    return { root: versionNodeId(root), depth, nodes: [...nodes.values()], edges };
  }

  /**
   * What is needed to rebuild a version, machine-readable: code commit, dataset versions with
   * their digests, params, environment and parents; `missing` names whatever is not recorded.
   */
  async reproduceSpec(modelName: string, number: number) {
    const repos = this.deps.uow.read;
    const version = await requireVersion(repos, await requireModel(repos, modelName), number);
    const datasets = (await repos.lineage.datasetsOf([version.id])).map((l) => ({
      name: l.dataset.name, version: l.dataset.version, role: l.role, uri: l.dataset.uri, digest: l.dataset.digest,
    }));
    const missing: string[] = [];
    if (!version.lineage.code) missing.push('code commit');
    if (version.lineage.code?.dirty) missing.push('clean code: it was trained with uncommitted changes');
    if (datasets.length === 0) missing.push('datasets');
    for (const d of datasets) if (!d.digest) missing.push(`digest of dataset ${d.name}@${d.version}`);
    if (!version.lineage.environment?.libraries || Object.keys(version.lineage.environment.libraries).length === 0) missing.push('library versions');
    return {
      model: version.model, version: version.version, digest: version.digest, reproducible: missing.length === 0, missing,
      code: version.lineage.code, datasets, params: version.params, environment: version.lineage.environment ?? null,
      run: version.lineage.run, parents: version.lineage.parents, expected_metrics: version.metrics,
    };
  }

  /** `dataset=name` (every version of it) or `name@version`, `commit=`, `parent=model@version`. */
  async impact(input: { dataset?: string; commit?: string; parent?: string }): Promise<{ affected: Affected[]; datasets: Dataset[] }> {
    const given = [input.dataset, input.commit, input.parent].filter((x) => x !== undefined);
    if (given.length !== 1) throw errors.validation('ask about exactly one of dataset, commit or parent');
    const repos = this.deps.uow.read;
    let seed: ImpactSeed;
    let datasets: Dataset[] = [];
    if (input.dataset !== undefined) {
      const [name, version] = splitAt(input.dataset);
      checkDatasetName(name);
      if (version !== undefined) checkDatasetVersion(version);
      datasets = version === undefined ? await repos.datasets.byName(name) : [await repos.datasets.find(name, version)].filter((d): d is Dataset => d !== null);
      if (datasets.length === 0) throw new ModelgateError('NOT_FOUND', `dataset ${input.dataset} is not registered`, { dataset: input.dataset });
      seed = { datasetIds: datasets.map((d) => d.id) };
    } else if (input.commit !== undefined) {
      if (!/^[0-9A-Za-z._/-]{1,128}$/.test(input.commit)) throw errors.validation('commit must be a commit id or ref name');
      seed = { commit: input.commit };
    } else {
      const [model, version] = splitAt(input.parent!);
      if (version === undefined || !/^[1-9]\d{0,9}$/.test(version)) throw errors.validation('parent must be <model>@<version number>');
      const parent = await requireVersion(repos, await requireModel(repos, model), Number(version));
      seed = { parentVersionId: parent.id };
    }
    const rows = await repos.lineage.impacted(seed, IMPACT_LIMIT);
    return { affected: await withAliases(repos, rows), datasets };
  }
}

/** Shared by the many affected versions without an alias. */
const NO_ALIASES: string[] = Object.freeze([]) as unknown as string[];

/** Same order as localeCompare, without its per-call cost. */
const NAMES = new Intl.Collator();

async function withAliases(repos: Repositories, rows: ImpactedVersion[]): Promise<Affected[]> {
  const models = [...new Set(rows.map((r) => r.modelId))];
  // By model, then version: a key string per row would cost more than the rest of this function.
  const aliases = new Map<string, Map<number, string[]>>();
  for (const a of await repos.aliases.ofModels(models)) {
    let ofModel = aliases.get(a.modelId);
    if (!ofModel) aliases.set(a.modelId, ofModel = new Map());
    const list = ofModel.get(a.version);
    if (list) list.push(a.alias);
    else ofModel.set(a.version, [a.alias]);
  }
  // Model names are ranked once (10,000 versions come from a few hundred models), so the sort
  // compares one number per row: stage, then model, then newest version first.
  const rank = new Map([...new Set(rows.map((r) => r.model))].sort(NAMES.compare).map((name, i) => [name, i]));
  // Exact in a double: stage < 4, rank < 2^20 (at most IMPACT_LIMIT models), version < 2^31.
  const order = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    order[i] = (STAGE_ORDER[r.stage] * 2 ** 20 + rank.get(r.model)!) * 2 ** 31 + (2 ** 31 - 1 - r.version);
  }
  const indexes = Array.from(rows.keys()).sort((a, b) => order[a]! - order[b]!);
  return indexes.map((i) => {
    const r = rows[i]!;
    return { model: r.model, version: r.version, stage: r.stage, aliases: aliases.get(r.modelId)?.get(r.version) ?? NO_ALIASES, direct: r.direct };
  });
}

function splitAt(ref: string): [string, string | undefined] {
  const at = ref.lastIndexOf('@');
  return at <= 0 ? [ref, undefined] : [ref.slice(0, at), ref.slice(at + 1)];
}

function versionNodeId(v: Version): string {
  return `version:${v.model}/${v.version}`;
}

function addVersion(nodes: Map<string, LineageNode>, v: Version): void {
  nodes.set(versionNodeId(v), {
    id: versionNodeId(v), kind: 'version', model: v.model, version: v.version, stage: v.stage, digest: v.digest,
    metrics: v.metrics, created_by: v.createdBy, created_at: v.createdAt, environment: v.lineage.environment ?? null,
  });
}

function addDataset(nodes: Map<string, LineageNode>, d: Dataset): string {
  const id = `dataset:${d.name}@${d.version}`;
  nodes.set(id, { id, kind: 'dataset', name: d.name, version: d.version, uri: d.uri, digest: d.digest, size: d.size });
  return id;
}

/** Code and run come from the version's own record; they have no table of their own to join. */
function addProvenance(nodes: Map<string, LineageNode>, edges: LineageEdge[], v: Version): void {
  const from = versionNodeId(v);
  if (v.lineage.code) {
    const id = `code:${v.lineage.code.repo}@${v.lineage.code.commit}`;
    nodes.set(id, { id, kind: 'code', repo: v.lineage.code.repo, commit: v.lineage.code.commit, path: v.lineage.code.path ?? null, dirty: v.lineage.code.dirty ?? false });
    edges.push({ from, to: id, kind: 'built_from' });
  }
  if (v.lineage.run) {
    const id = `run:${v.lineage.run.id}`;
    nodes.set(id, { id, kind: 'run', run_id: v.lineage.run.id, url: v.lineage.run.url ?? null, experiment: v.lineage.run.experiment ?? null });
    edges.push({ from, to: id, kind: 'produced_by' });
  }
}
