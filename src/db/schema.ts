/**
 * The database schema as Kysely sees it: one `*Table` per table, snake_case columns. JSON
 * lives in text columns and timestamps are ISO-8601 text, so one schema runs unchanged on
 * SQLite and PostgreSQL. Integer columns that may exceed 2^31 are bigint on PostgreSQL and
 * arrive as strings there; repositories convert them with Number() at the edge.
 */
import type { Generated } from 'kysely';
import type { BlobsTable, MaintenanceLeasesTable, UploadPartsTable, UploadSessionsTable } from './schema-blobs.js';

import type {
  AlertRulesTable, AlertsTable, ArtifactsTable, DeploymentHistoryTable, DeploymentsTable, EnvironmentsTable, ExperimentsTable, ObservationsTable, RunsTable,
} from './schema-operations.js';

export type * from './schema-blobs.js';
export type * from './schema-operations.js';

export type BigInt = number | string;

export interface ModelsTable {
  id: string;
  name: string;
  description: string;
  tags: string;
  owner: string;
  intended_use: string;
  restrictions: string;
  risk_tier: string | null;
  archived: number;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_version: number;
  responsible: string;
  validation_status: string;
  last_validated_at: string | null;
  next_validation_due: string | null;
  validity_period: string | null;
  policy_exceptions: string;
}

export interface ModelFormerNamesTable {
  name: string;
  model_id: string;
}

export interface ModelTagsTable {
  model_id: string;
  key: string;
  value: string;
}

export interface VersionsTable {
  id: string;
  model_id: string;
  version: number;
  digest: string;
  status: string;
  stage: string;
  files: string;
  source_uri: string | null;
  metrics: string;
  params: string;
  tags: string;
  description: string;
  model_card: string | null;
  signature: string | null;
  lineage: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  left_development_at: string | null;
  deleted_at: string | null;
  degraded_at: string | null;
}

export interface VersionMetricsTable {
  version_id: string;
  model_id: string;
  name: string;
  value: number;
}

export interface VersionTagsTable {
  version_id: string;
  model_id: string;
  key: string;
  value: string;
}

export interface VersionFilesTable {
  version_id: string;
  path: string;
  digest: string;
  size: BigInt;
}

export interface AliasesTable {
  model_id: string;
  alias: string;
  version: number;
  updated_at: string;
}

export interface PromotionsTable {
  id: string;
  model_id: string;
  version: number;
  target: string;
  reason: string;
  status: string;
  requested_by: string;
  created_at: string;
  decided_at: string | null;
  checks: string;
  approvals: string;
  policy: string;
  from_stage: string;
  target_holder: number | null;
  decided_by: string | null;
  decision_comment: string | null;
}

export interface PoliciesTable {
  /** `*` for the server default, else a model id. */
  scope: string;
  document: string;
  updated_at: string;
  updated_by: string;
}

export interface HoldingsTable {
  id: string;
  model_id: string;
  target: string;
  version: number;
  started_at: string;
  ended_at: string | null;
  via: string;
  promotion_id: string | null;
  actor: string;
  reason: string;
  approved_by: string;
}

export interface UsersTable {
  id: string;
  username: string;
  role: string;
  created_at: string;
  created_by: string;
  groups: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AuditLogTable {
  seq: BigInt;
  time: string;
  actor: string;
  action: string;
  resource: string;
  changes: string;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

export interface OutboxEventsTable {
  seq: BigInt;
  id: string;
  type: string;
  subject: string;
  time: string;
  actor: string;
  data: string;
}

export interface JournalHeadTable {
  id: Generated<number>;
  audit_seq: BigInt;
  audit_hash: string;
  event_seq: BigInt;
}

export interface WebhooksTable {
  id: string;
  url: string;
  secret: string;
  events: string;
  model_id: string | null;
  active: number;
  after_seq: BigInt;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface DeliveriesTable {
  id: string;
  webhook_id: string;
  event_seq: BigInt | null;
  event_id: string;
  event_type: string;
  subject: string;
  order_key: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
}

export interface DeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  at: string;
  status: number | null;
  latency_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

export interface DispatcherStateTable {
  id: number;
  fanout_seq: BigInt;
}

export interface DatasetsTable {
  id: string;
  name: string;
  version: string;
  uri: string | null;
  digest: string | null;
  size: BigInt | null;
  description: string;
  schema: string | null;
  tags: string;
  created_by: string;
  created_at: string;
}

export interface VersionDatasetsTable {
  version_id: string;
  dataset_id: string;
  role: string;
}

export interface VersionParentsTable {
  version_id: string;
  parent_id: string;
  relation: string;
}

export interface VersionCodeTable {
  version_id: string;
  repo: string;
  commit: string;
}

/** The transitive closure of lineage: a version's datasets and commits, its own and its ancestors'. */
export interface LineageSourcesTable {
  source_kind: 'dataset' | 'commit';
  /** A dataset id, or a commit. */
  source_ref: string;
  model_id: string;
  version: number;
  /** 1 when the version itself names the source, 0 when it inherits it through a parent. */
  direct: number;
}

export interface Database {
  models: ModelsTable;
  model_former_names: ModelFormerNamesTable;
  model_tags: ModelTagsTable;
  versions: VersionsTable;
  version_metrics: VersionMetricsTable;
  version_tags: VersionTagsTable;
  version_files: VersionFilesTable;
  aliases: AliasesTable;
  promotions: PromotionsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  outbox_events: OutboxEventsTable;
  journal_head: JournalHeadTable;
  policies: PoliciesTable;
  holdings: HoldingsTable;
  webhooks: WebhooksTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  dispatcher_state: DispatcherStateTable;
  datasets: DatasetsTable;
  version_datasets: VersionDatasetsTable;
  version_parents: VersionParentsTable;
  version_code: VersionCodeTable;
  lineage_sources: LineageSourcesTable;
  environments: EnvironmentsTable;
  deployments: DeploymentsTable;
  deployment_history: DeploymentHistoryTable;
  observations: ObservationsTable;
  alert_rules: AlertRulesTable;
  alerts: AlertsTable;
  experiments: ExperimentsTable;
  runs: RunsTable;
  artifacts: ArtifactsTable;
  blobs: BlobsTable;
  maintenance_leases: MaintenanceLeasesTable;
  upload_sessions: UploadSessionsTable;
  upload_parts: UploadPartsTable;
}
