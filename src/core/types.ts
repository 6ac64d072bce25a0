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
}

export interface User {
  id: string;
  username: string;
  role: Role;
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

export interface Lineage {
  datasets: DatasetRef[];
  code: { repo: string; commit: string; path?: string } | null;
  run: { id: string; url?: string } | null;
  parents: { model: string; version: number }[];
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
  checks: unknown[];
  approvals: unknown[];
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
