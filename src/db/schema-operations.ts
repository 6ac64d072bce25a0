/** Deployments, production feedback and experiment tracking, as Kysely sees them (see schema.ts). */
import type { BigInt } from './schema.js';

export interface EnvironmentsTable {
  name: string;
  production: number;
  require_approved: number;
  description: string;
  updated_by: string;
  updated_at: string;
}

export interface DeploymentsTable {
  id: string;
  model_id: string;
  version: number;
  environment: string;
  target: string;
  status: string;
  replicas: number | null;
  traffic_share: number | null;
  source: string;
  reported_by: string;
  created_at: string;
  updated_at: string;
}

export interface DeploymentHistoryTable {
  id: string;
  deployment_id: string;
  at: string;
  actor: string;
  status: string;
  replicas: number | null;
  traffic_share: number | null;
  note: string;
}

export interface ObservationsTable {
  id: string;
  model_id: string;
  version: number;
  deployment_id: string | null;
  metric: string;
  value: number;
  window_start: string;
  window_end: string;
  source: string;
  recorded_by: string;
  recorded_at: string;
}

export interface AlertRulesTable {
  id: string;
  model_id: string;
  metric: string;
  op: string;
  threshold: number;
  windows: number;
  created_by: string;
  created_at: string;
}

export interface AlertsTable {
  id: string;
  rule_id: string;
  model_id: string;
  version: number;
  raised_at: string;
  resolved_at: string | null;
  observations: string;
}

export interface ExperimentsTable {
  id: string;
  name: string;
  artifact_location: string;
  tags: string;
  created_by: string;
  created_at: string;
}

export interface RunsTable {
  id: string;
  experiment_id: string;
  name: string;
  user_id: string;
  status: string;
  start_time: BigInt;
  end_time: BigInt | null;
  artifact_uri: string;
  tags: string;
  params: string;
  metrics: string;
}

export interface ArtifactsTable {
  path: string;
  digest: string;
  size: BigInt;
  uploaded_by: string;
  uploaded_at: string;
}
