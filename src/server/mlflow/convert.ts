/**
 * MLflow's wire shapes for modelgate's models and versions, and MLflow's error codes for
 * modelgate's. Versions are strings, timestamps are milliseconds, stages are capitalised,
 * unset fields are omitted: what MLflow's own clients expect, field by field.
 */
import type { ErrorCode } from '../../core/errors.js';
import type { Model, Stage, Version } from '../../core/types.js';

export const STAGE_TO_MLFLOW: Record<Stage, string> = { development: 'None', staging: 'Staging', production: 'Production', archived: 'Archived' };

/** MLflow stage names match case-insensitively; `None` is development. */
export function stageFromMlflow(stage: string): Stage | null {
  const found = (Object.entries(STAGE_TO_MLFLOW) as [Stage, string][]).find(([, name]) => name.toLowerCase() === stage.toLowerCase());
  return found ? found[0] : null;
}

/** The MLflow `source` a version was registered from, kept as a tag so MLflow clients see it again. */
export const SOURCE_TAG = 'mlflow.source';

const ms = (iso: string) => Date.parse(iso);
const tagList = (tags: Record<string, string>) => Object.entries(tags).filter(([key]) => key !== SOURCE_TAG).map(([key, value]) => ({ key, value }));

export function mlflowVersion(v: Version) {
  return {
    name: v.model,
    version: String(v.version),
    creation_timestamp: ms(v.createdAt),
    last_updated_timestamp: ms(v.updatedAt),
    user_id: v.createdBy,
    current_stage: STAGE_TO_MLFLOW[v.stage],
    ...(v.description ? { description: v.description } : {}),
    source: v.tags[SOURCE_TAG] ?? v.sourceUri ?? `models:/${v.model}/${v.version}`,
    ...(v.lineage.run?.id ? { run_id: v.lineage.run.id } : {}),
    status: v.status === 'ready' ? 'READY' : v.status === 'pending' ? 'PENDING_REGISTRATION' : 'FAILED_REGISTRATION',
    ...(tagList(v.tags).length > 0 ? { tags: tagList(v.tags) } : {}),
    ...(v.lineage.run?.url ? { run_link: v.lineage.run.url } : {}),
    ...(v.aliases.length > 0 ? { aliases: v.aliases } : {}),
  };
}

export function mlflowModel(m: Model, latest: Version[], aliases: { alias: string; version: number }[]) {
  return {
    name: m.name,
    creation_timestamp: ms(m.createdAt),
    last_updated_timestamp: ms(m.updatedAt),
    ...(m.description ? { description: m.description } : {}),
    ...(latest.length > 0 ? { latest_versions: latest.map(mlflowVersion) } : {}),
    ...(Object.keys(m.tags).length > 0 ? { tags: tagList(m.tags) } : {}),
    ...(aliases.length > 0 ? { aliases: aliases.map((a) => ({ alias: a.alias, version: String(a.version) })) } : {}),
  };
}

/** MLflow's error code and HTTP status for each modelgate code. */
export function mlflowError(code: ErrorCode | string): { errorCode: string; status: number } {
  if (code === 'NOT_FOUND' || code.endsWith('_NOT_FOUND')) return { errorCode: 'RESOURCE_DOES_NOT_EXIST', status: 404 };
  switch (code) {
    case 'MODEL_EXISTS':
    case 'USER_EXISTS':
      return { errorCode: 'RESOURCE_ALREADY_EXISTS', status: 400 };
    case 'UNAUTHENTICATED':
      return { errorCode: 'UNAUTHENTICATED', status: 401 };
    case 'FORBIDDEN':
    case 'ROLE_REQUIRED':
    case 'APPROVAL_REQUIRED':
    case 'SELF_APPROVAL_FORBIDDEN':
    case 'APPROVER_NOT_ELIGIBLE':
    case 'POLICY_WEAKENS_DEFAULT':
      return { errorCode: 'PERMISSION_DENIED', status: 403 };
    case 'CONFLICT':
    case 'MODEL_ARCHIVED':
    case 'MODEL_IN_PRODUCTION':
    case 'PROMOTION_PENDING':
    case 'PROMOTION_STALE':
    case 'VERSION_NOT_DELETABLE':
      return { errorCode: 'RESOURCE_CONFLICT', status: 409 };
    case 'RATE_LIMITED':
      return { errorCode: 'REQUEST_LIMIT_EXCEEDED', status: 429 };
    case 'INTERNAL':
    case 'UNAVAILABLE':
      return { errorCode: 'INTERNAL_ERROR', status: 500 };
    default:
      return { errorCode: 'INVALID_PARAMETER_VALUE', status: 400 };
  }
}
