/** The API's JSON shapes for deployments, production feedback and reproducibility. */
import type { Lineage } from './types.js';

export interface Deployment {
  id: string;
  model: string;
  version: number;
  environment: string;
  target: string;
  status: 'deploying' | 'serving' | 'failed' | 'retired';
  replicas: number | null;
  traffic_share: number | null;
  source: string;
  reported_by: string;
  created_at: string;
  updated_at: string;
  /** Runs in a production environment a version not approved for production. */
  drift: boolean;
}

export interface Observation {
  id: string;
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

export interface AlertRule {
  id: string;
  metric: string;
  op: string;
  threshold: number;
  windows: number;
  expression: string;
  created_by: string;
  created_at: string;
}

export interface Alert {
  id: string;
  rule_id: string;
  model: string;
  version: number;
  raised_at: string;
  resolved_at: string | null;
  observations: string[];
}

export interface ReproduceSpec {
  model: string;
  version: number;
  digest: string;
  reproducible: boolean;
  missing: string[];
  code: Lineage['code'];
  datasets: { name: string; version: string; role: string; uri: string | null; digest: string | null }[];
  params: Record<string, string>;
  environment: Lineage['environment'];
  run: Lineage['run'];
  parents: Lineage['parents'];
  expected_metrics: Record<string, number>;
}
