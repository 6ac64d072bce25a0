/** Domain objects, camelCase. The repositories map rows to these; the server maps these to JSON. */

export const Roles = ['viewer', 'contributor', 'approver', 'admin'] as const;
export type Role = (typeof Roles)[number];

export const Stages = ['development', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof Stages)[number];

export const RiskTiers = ['low', 'medium', 'high', 'critical'] as const;
export type RiskTier = (typeof RiskTiers)[number];

export type VersionStatus = 'pending' | 'ready' | 'failed';
export type Tags = Record<string, string>;

/** Who is acting. Every write carries one; `system` acts only at bootstrap. */
export interface Actor {
  userId: string;
  username: string;
  role: Role;
  groups: string[];
}

export interface User {
  id: string;
  username: string;
  role: Role;
  /** Named approver groups the user belongs to (see a policy's approver_groups). */
  groups: string[];
  createdAt: string;
  createdBy: string;
}

export interface ApiToken {
  id: string;
  userId: string;
  username: string;
  name: string;
  /** First characters of the token, enough for a person to recognise it. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface Model {
  id: string;
  name: string;
  description: string;
  tags: Tags;
  owner: string;
  intendedUse: string;
  restrictions: string;
  riskTier: RiskTier | null;
  archived: boolean;
  /** Inventory (SR 11-7 / EU AI Act): the people answerable for the model besides its owner. */
  responsible: string[];
  validationStatus: ValidationStatus;
  lastValidatedAt: string | null;
  nextValidationDue: string | null;
  /** How long a validation holds, as an ISO-8601 duration such as P1Y. */
  validityPeriod: string | null;
  policyExceptions: PolicyException[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** Former names that still resolve to this model. */
  formerNames: string[];
}

export interface ManifestFile {
  path: string;
  digest: string;
  size: number;
}

export interface DatasetRef {
  name: string;
  version: string;
  uri?: string;
  digest?: string;
  role: string;
}

export const ParentRelations = ['fine_tuned_from', 'distilled_from', 'derived_from'] as const;
export type ParentRelation = (typeof ParentRelations)[number];

export interface Lineage {
  datasets: DatasetRef[];
  code: { repo: string; commit: string; path?: string; dirty?: boolean } | null;
  run: { id: string; url?: string; experiment?: string } | null;
  parents: { model: string; version: number; relation?: ParentRelation }[];
  /** What it was built with: framework and library versions, for reproducing it. */
  environment?: { framework?: string; python?: string; libraries?: Record<string, string> } | null;
}

export interface Dataset {
  id: string;
  name: string;
  version: string;
  uri: string | null;
  digest: string | null;
  size: number | null;
  description: string;
  schema: unknown;
  tags: Tags;
  createdBy: string;
  createdAt: string;
}

export const ValidationStatuses = ['not_validated', 'in_progress', 'validated', 'conditionally_validated'] as const;
export type ValidationStatus = (typeof ValidationStatuses)[number];

export interface PolicyException {
  description: string;
  granted_by?: string;
  expires?: string;
}

export interface Version {
  id: string;
  modelId: string;
  model: string;
  version: number;
  digest: string;
  status: VersionStatus;
  stage: Stage;
  aliases: string[];
  files: ManifestFile[];
  sourceUri: string | null;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Tags;
  description: string;
  modelCard: string | null;
  signature: unknown;
  lineage: Lineage;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** Set once the version leaves development: from then on it can never be deleted. */
  leftDevelopmentAt: string | null;
  deletedAt: string | null;
  /** Set when a production alert rule fired for this version; informs, never changes what is served. */
  degradedAt: string | null;
}

export type PromotionStatus = 'pending' | 'applied' | 'rejected' | 'cancelled';

export interface Promotion {
  id: string;
  modelId: string;
  model: string;
  version: number;
  /** `staging`, `production`, `archived`, or `@alias`. */
  target: string;
  reason: string;
  status: PromotionStatus;
  requestedBy: string;
  createdAt: string;
  decidedAt: string | null;
  checks: GateCheck[];
  approvals: Approval[];
  /** The rule in force when the promotion was requested; approvals are counted against it. */
  policy: TargetRule | null;
  /** The version's stage at request time: if it moves meanwhile, the promotion is stale. */
  fromStage: Stage;
  /** Who held the target (production or an alias) at request time; null if nobody. */
  targetHolder: number | null;
  decidedBy: string | null;
  decisionComment: string | null;
}

export interface GateCheck {
  gate: string;
  passed: boolean;
  observed: unknown;
  message: string;
}

export interface Approval {
  username: string;
  role: Role;
  comment: string;
  at: string;
}

/** One target's rule, as recorded on a promotion (camelCase mirror of a policy entry). */
export interface TargetRule {
  approvalsRequired: number;
  approverRoles: Role[];
  approverGroups: string[];
  separationOfDuties: boolean;
  gates: string[];
}

/** A period during which a version held a target (a stage or an alias). */
export interface Holding {
  id: string;
  modelId: string;
  target: string;
  version: number;
  startedAt: string;
  endedAt: string | null;
  via: 'promotion' | 'rollback' | 'direct';
  promotionId: string | null;
  actor: string;
  reason: string;
  approvedBy: string[];
}

export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  resource: string;
  changes: unknown;
  requestId: string | null;
  prevHash: string;
  hash: string;
}

export interface OutboxEvent {
  seq: number;
  id: string;
  type: string;
  subject: string;
  time: string;
  actor: string;
  data: unknown;
}

export const DeploymentStatuses = ['deploying', 'serving', 'failed', 'retired'] as const;
export type DeploymentStatus = (typeof DeploymentStatuses)[number];

export interface Environment {
  name: string;
  /** A production environment: what runs there is what customers see. */
  production: boolean;
  /** Refuse to record a deployment here of a version not currently approved for production. */
  requireApproved: boolean;
  description: string;
  updatedBy: string;
  updatedAt: string;
}

export interface Deployment {
  id: string;
  modelId: string;
  model: string;
  version: number;
  environment: string;
  target: string;
  status: DeploymentStatus;
  replicas: number | null;
  trafficShare: number | null;
  /** What reported it (a deployment system, a pipeline), besides the authenticated actor. */
  source: string;
  reportedBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentChange {
  id: string;
  deploymentId: string;
  at: string;
  actor: string;
  status: DeploymentStatus;
  replicas: number | null;
  trafficShare: number | null;
  note: string;
}

export interface Observation {
  id: string;
  modelId: string;
  version: number;
  deploymentId: string | null;
  metric: string;
  value: number;
  windowStart: string;
  windowEnd: string;
  source: string;
  recordedBy: string;
  recordedAt: string;
}

export interface AlertRule {
  id: string;
  modelId: string;
  metric: string;
  op: '>=' | '>' | '<=' | '<' | '==' | '!=';
  threshold: number;
  /** How many consecutive windows must break the threshold. */
  windows: number;
  createdBy: string;
  createdAt: string;
}

export interface Alert {
  id: string;
  ruleId: string;
  modelId: string;
  version: number;
  raisedAt: string;
  resolvedAt: string | null;
  observations: string[];
}

export interface Experiment {
  id: string;
  name: string;
  artifactLocation: string;
  tags: Tags;
  createdBy: string;
  createdAt: string;
}

/** A run's metric: its latest value, as MLflow reports it in run data. */
export interface RunMetric {
  value: number;
  timestamp: number;
  step: number;
}

export interface Run {
  id: string;
  experimentId: string;
  name: string;
  userId: string;
  status: 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
  startTime: number;
  endTime: number | null;
  artifactUri: string;
  tags: Tags;
  params: Record<string, string>;
  metrics: Record<string, RunMetric>;
}

/** A file uploaded through the MLflow artifact proxy: its path, and the blob holding its bytes. */
export interface Artifact {
  path: string;
  digest: string;
  size: number;
}
