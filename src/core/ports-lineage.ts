/**
 * Ports for lineage, tracking, deployments and production feedback. Part of core's contract
 * with its adapters, split from ports.ts by subject.
 */
import type { Cursor } from './ports.js';
import type {
  Alert, AlertRule, Artifact, Dataset, Deployment, DeploymentChange, Environment, Experiment, Observation, Run, Stage,
} from './types.js';

export interface DatasetQuery {
  name?: string;
  namePrefix?: string;
  after?: Cursor;
  limit: number;
}

export interface DatasetRepository {
  insert(dataset: Dataset): Promise<void>;
  /** Inserts unless the name and version exist already; returns whichever is stored. */
  insertIfAbsent(dataset: Dataset): Promise<{ dataset: Dataset; created: boolean }>;
  find(name: string, version: string): Promise<Dataset | null>;
  /** Every version of a dataset name. */
  byName(name: string): Promise<Dataset[]>;
  list(query: DatasetQuery): Promise<Dataset[]>;
}

/** A version reached by an impact query, lean: enough to say what is affected and where it runs. */
export interface ImpactedVersion {
  modelId: string;
  model: string;
  version: number;
  stage: Stage;
  /** True when the version itself used the dataset, commit or parent; false when it inherits it through a parent. */
  direct: boolean;
}

export type ImpactSeed = { datasetIds: string[] } | { commit: string } | { parentVersionId: string };

/** Lineage as indexed edges, for queries in both directions. */
export interface LineageRepository {
  /** Records a new version's edges (the closure of lineage follows them: see migration 08). */
  link(versionId: string, edges: {
    datasets: { datasetId: string; role: string }[];
    parents: { parentId: string; relation: string }[];
    code: { repo: string; commit: string } | null;
  }): Promise<void>;
  datasetsOf(versionIds: string[]): Promise<{ versionId: string; dataset: Dataset; role: string }[]>;
  parentsOf(versionIds: string[]): Promise<{ versionId: string; parentId: string; relation: string }[]>;
  /**
   * The version and every version upstream of it through parent edges, up to `depth` edges
   * away, each with the fewest edges it is reached in (the version itself: 0).
   */
  ancestors(versionId: string, depth: number): Promise<{ versionId: string; depth: number }[]>;
  /** Versions downstream of the seed, following parent edges transitively (deleted ones left out). */
  impacted(seed: ImpactSeed, limit: number): Promise<ImpactedVersion[]>;
}

export interface DeploymentRepository {
  putEnvironment(env: Environment): Promise<void>;
  environment(name: string): Promise<Environment | null>;
  environments(): Promise<Environment[]>;
  insert(deployment: Omit<Deployment, 'model'>): Promise<void>;
  get(id: string): Promise<Deployment | null>;
  update(id: string, patch: Pick<Deployment, 'version' | 'status' | 'replicas' | 'trafficShare' | 'updatedAt'>): Promise<void>;
  /** Newest first; `active` keeps deploying and serving ones. */
  list(query: { modelId?: string; environment?: string; active?: boolean; limit: number }): Promise<Deployment[]>;
  addChange(change: DeploymentChange): Promise<void>;
  changes(deploymentId: string): Promise<DeploymentChange[]>;
}

export interface FeedbackRepository {
  insertObservation(observation: Observation): Promise<void>;
  /** The latest observations of one metric of one version, newest window first. */
  latest(modelId: string, version: number, metric: string, limit: number): Promise<Observation[]>;
  recent(modelId: string, version: number, limit: number): Promise<Observation[]>;
  insertRule(rule: AlertRule): Promise<void>;
  rules(modelId: string): Promise<AlertRule[]>;
  deleteRule(id: string): Promise<void>;
  openAlert(ruleId: string, version: number): Promise<Alert | null>;
  insertAlert(alert: Alert): Promise<void>;
  alerts(query: { modelId?: string; open?: boolean; limit: number }): Promise<Alert[]>;
  alert(id: string): Promise<Alert | null>;
  resolveAlert(id: string, at: string): Promise<void>;
  /** Open alerts of one version. */
  openAlertsOf(modelId: string, version: number): Promise<Alert[]>;
}

export interface TrackingRepository {
  insertExperiment(e: Experiment): Promise<void>;
  experiment(id: string): Promise<Experiment | null>;
  experimentByName(name: string): Promise<Experiment | null>;
  insertRun(r: Run): Promise<void>;
  run(id: string): Promise<Run | null>;
  /** Locks the run's row until the transaction ends (concurrent log-batch calls must not lose metrics). */
  lockRun(id: string): Promise<void>;
  updateRun(r: Run): Promise<void>;
  /** Records (or replaces) the blob behind an artifact path. */
  putArtifact(a: Artifact, by: string, at: string): Promise<void>;
  artifact(path: string): Promise<Artifact | null>;
  /** Every artifact whose path starts with `prefix` (a directory ending in `/`), up to `limit`. */
  artifactsUnder(prefix: string, limit: number): Promise<Artifact[]>;
}

