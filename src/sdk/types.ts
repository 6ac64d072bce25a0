/** The API's JSON shapes, as SDK users see them (snake_case, exactly as on the wire). */
export type Stage = 'development' | 'staging' | 'production' | 'archived';
export type Role = 'viewer' | 'contributor' | 'approver' | 'admin';
export type RiskTier = 'low' | 'medium' | 'high' | 'critical';

export interface Model {
  name: string;
  description: string;
  tags: Record<string, string>;
  owner: string;
  intended_use: string;
  restrictions: string;
  risk_tier: RiskTier | null;
  responsible: string[];
  validation_status: string;
  last_validated_at: string | null;
  next_validation_due: string | null;
  validity_period: string | null;
  policy_exceptions: { description: string; granted_by?: string; expires?: string }[];
  archived: boolean;
  former_names: string[];
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface FileEntry {
  path: string;
  digest: string;
  size: number;
}

export interface Lineage {
  datasets: { name: string; version: string; uri?: string; digest?: string; role: 'train' | 'validation' | 'test' | 'evaluation' | string }[];
  code: { repo: string; commit: string; path?: string; dirty?: boolean } | null;
  run: { id: string; url?: string; experiment?: string } | null;
  parents: { model: string; version: number; relation?: 'fine_tuned_from' | 'distilled_from' | 'derived_from' }[];
  environment?: { framework?: string; python?: string; libraries?: Record<string, string> } | null;
}

export interface Version {
  model: string;
  version: number;
  digest: string;
  status: 'pending' | 'ready' | 'failed';
  stage: Stage;
  aliases: string[];
  files: FileEntry[];
  source_uri: string | null;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
  description: string;
  model_card: string | null;
  signature: unknown;
  lineage: Lineage;
  /** A production alert rule fired for this version. */
  degraded: boolean;
  degraded_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface Promotion {
  id: string;
  model: string;
  version: number;
  target: string;
  reason: string;
  status: 'pending' | 'applied' | 'rejected' | 'cancelled';
  requested_by: string;
  created_at: string;
  decided_at: string | null;
  checks: GateCheck[];
  approvals: Approval[];
  /** The rule in force when requested; approvals are counted against it. */
  policy: TargetRule | null;
  from_stage: Stage;
  target_holder: number | null;
  decided_by: string | null;
  decision_comment: string | null;
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

export interface TargetRule {
  approvals_required: number;
  approver_roles: Role[];
  approver_groups: string[];
  separation_of_duties: boolean;
  gates: string[];
}

export interface PolicyDocument {
  targets: Record<string, Partial<TargetRule>>;
}

export interface ModelPolicy {
  model: string;
  /** The rules in force, target by target. */
  targets: Record<string, TargetRule>;
  model_policy: { targets: Record<string, TargetRule> } | null;
  default_policy: { targets: Record<string, TargetRule> };
}

export interface Holding {
  target: string;
  version: number;
  started_at: string;
  ended_at: string | null;
  via: 'promotion' | 'rollback' | 'direct';
  promotion_id: string | null;
  actor: string;
  reason: string;
  approved_by: string[];
}

export interface RollbackResult {
  model: string;
  target: string;
  from_version: number | null;
  to_version: number;
  reason: string;
}

export interface Resolved {
  model: string;
  version: number;
  digest: string;
  stage: Stage;
  aliases: string[];
  status: string;
  source_uri: string | null;
  degraded: boolean;
  files: (FileEntry & { url: string })[];
}

export interface User {
  username: string;
  role: Role;
  groups: string[];
  created_at: string;
  created_by: string;
}

export interface Token {
  id: string;
  username: string;
  name: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  resource: string;
  changes: unknown;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head_hash: string;
  first_bad_seq: number | null;
  problem: string | null;
}

export interface Blob {
  digest: string;
  size: number;
}

export interface UploadPart {
  number: number;
  size: number;
  /** Null for a part sent with a `crc32` check alone. */
  sha256: string | null;
  /** Null (absent from a server that does not know CRC-32 parts) for a part recorded without one. */
  crc32?: string | null;
  received_at: string;
}

/** A resumable upload session: which parts the server holds and which are missing. */
export interface UploadSession {
  upload_id: string;
  status: 'open' | 'completed' | 'aborted' | 'expired';
  size: number;
  part_size: number;
  part_count: number;
  sha256: string | null;
  digest: string | null;
  created_by: string;
  created_at: string;
  expires_at: string;
  parts: UploadPart[];
  missing_parts: number[];
}

export interface GcReport {
  dry_run: boolean;
  grace_seconds: number;
  blobs_removed: number;
  bytes_removed: number;
  removed: string[];
  sessions_expired: number;
  session_storage_removed: number;
  temp_files_removed: number;
  temp_bytes_removed: number;
  unrecorded_removed: number;
}

export interface BlobVerifyReport {
  ok: boolean;
  scope: string;
  blobs_checked: number;
  bytes_checked: number;
  problems: Array<{ digest: string; problem: 'missing' | 'corrupt' | 'size_mismatch'; used_by: string[]; actual?: string }>;
}

/** The inventory fields a model may carry. */
export interface InventoryFields {
  responsible?: string[];
  validation_status?: 'not_validated' | 'in_progress' | 'validated' | 'conditionally_validated';
  last_validated_at?: string | null;
  next_validation_due?: string | null;
  validity_period?: string | null;
  policy_exceptions?: { description: string; granted_by?: string; expires?: string }[];
}

export interface CreateModel extends InventoryFields {
  name: string;
  description?: string;
  tags?: Record<string, string>;
  owner?: string;
  intended_use?: string;
  restrictions?: string;
  risk_tier?: RiskTier | null;
}

export interface UpdateModel extends InventoryFields {
  description?: string;
  tags?: Record<string, string | null>;
  owner?: string;
  intended_use?: string;
  restrictions?: string;
  risk_tier?: RiskTier | null;
}

export interface CreateVersion {
  files?: FileEntry[];
  source_uri?: string;
  digest?: string;
  metrics?: Record<string, number>;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  description?: string;
  model_card?: string;
  signature?: unknown;
  lineage?: Partial<Lineage>;
}

export interface Page {
  page_size?: number;
  page_token?: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  model: string | null;
  active: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  status: number | null;
  latency_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

export interface Delivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  sequence: number | null;
  subject: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  attempt_log: DeliveryAttempt[];
}

/** A registry event in the CloudEvents 1.0 JSON format. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  sequence: number;
  data: Record<string, unknown>;
}

export interface Dataset {
  name: string;
  version: string;
  uri: string | null;
  digest: string | null;
  size: number | null;
  description: string;
  schema: unknown;
  tags: Record<string, string>;
  created_by: string;
  created_at: string;
}

export interface LineageGraph {
  root: string;
  depth: number;
  nodes: ({ id: string; kind: 'version' | 'dataset' | 'code' | 'run' } & Record<string, unknown>)[];
  edges: { from: string; to: string; kind: string }[];
}

export interface Impact {
  affected: { model: string; version: number; stage: Stage; aliases: string[]; direct: boolean }[];
  datasets: Dataset[];
  in_production: number;
}

export interface InventoryEntry {
  model: string;
  owner: string;
  responsible: string[];
  risk_tier: RiskTier | null;
  intended_use: string;
  restrictions: string;
  validation_status: string;
  last_validated_at: string | null;
  next_validation_due: string | null;
  validation_overdue: boolean;
  validity_period: string | null;
  policy_exceptions: { description: string; granted_by?: string; expires?: string }[];
  production_version: number | null;
  production_since: string | null;
  archived: boolean;
}

export interface DossierDocument {
  generated_at: string;
  generated_by: string;
  model: Model;
  version: Version;
  lineage: LineageGraph;
  reproduce: ReproduceSpec;
  promotions: Promotion[];
  history: Holding[];
  audit: { entries: AuditEntry[]; chain: { ok: boolean; entries: number; head_hash: string; first_bad_seq: number | null; problem: string | null } };
}

export * from './types-operations.js';
import type { ReproduceSpec } from './types-operations.js';
