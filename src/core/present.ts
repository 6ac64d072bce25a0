/**
 * The public JSON form of domain objects (snake_case). Used for API replies and for event
 * data alike, so a webhook receiver sees exactly what a GET would have returned.
 */
import type { Alert, AlertRule, ApiToken, AuditEntry, Deployment, DeploymentChange, Holding, Model, Observation, Promotion, TargetRule, User, Version } from './types.js';

export function presentModel(model: Model) {
  return {
    name: model.name,
    description: model.description,
    tags: model.tags,
    owner: model.owner,
    intended_use: model.intendedUse,
    restrictions: model.restrictions,
    risk_tier: model.riskTier,
    responsible: model.responsible,
    validation_status: model.validationStatus,
    last_validated_at: model.lastValidatedAt,
    next_validation_due: model.nextValidationDue,
    validity_period: model.validityPeriod,
    policy_exceptions: model.policyExceptions,
    archived: model.archived,
    former_names: model.formerNames,
    created_by: model.createdBy,
    created_at: model.createdAt,
    updated_at: model.updatedAt,
  };
}

export function presentVersion(version: Version) {
  return {
    model: version.model,
    version: version.version,
    digest: version.digest,
    status: version.status,
    stage: version.stage,
    aliases: version.aliases,
    files: version.files,
    source_uri: version.sourceUri,
    metrics: version.metrics,
    params: version.params,
    tags: version.tags,
    description: version.description,
    model_card: version.modelCard,
    signature: version.signature ?? null,
    lineage: version.lineage,
    degraded: version.degradedAt !== null,
    degraded_at: version.degradedAt,
    created_by: version.createdBy,
    created_at: version.createdAt,
    updated_at: version.updatedAt,
  };
}

export function presentPromotion(promotion: Promotion) {
  return {
    id: promotion.id,
    model: promotion.model,
    version: promotion.version,
    target: promotion.target,
    reason: promotion.reason,
    status: promotion.status,
    requested_by: promotion.requestedBy,
    created_at: promotion.createdAt,
    decided_at: promotion.decidedAt,
    checks: promotion.checks,
    approvals: promotion.approvals,
    policy: promotion.policy ? presentRule(promotion.policy) : null,
    from_stage: promotion.fromStage,
    target_holder: promotion.targetHolder,
    decided_by: promotion.decidedBy,
    decision_comment: promotion.decisionComment,
  };
}

export function presentRule(rule: TargetRule) {
  return {
    approvals_required: rule.approvalsRequired,
    approver_roles: rule.approverRoles,
    approver_groups: rule.approverGroups,
    separation_of_duties: rule.separationOfDuties,
    gates: rule.gates,
  };
}

export function presentHolding(holding: Holding) {
  return {
    target: holding.target,
    version: holding.version,
    started_at: holding.startedAt,
    ended_at: holding.endedAt,
    via: holding.via,
    promotion_id: holding.promotionId,
    actor: holding.actor,
    reason: holding.reason,
    approved_by: holding.approvedBy,
  };
}

export function presentUser(user: User) {
  return { username: user.username, role: user.role, groups: user.groups, created_at: user.createdAt, created_by: user.createdBy };
}

export function presentToken(token: ApiToken) {
  return {
    id: token.id,
    username: token.username,
    name: token.name,
    prefix: token.prefix,
    created_at: token.createdAt,
    revoked_at: token.revokedAt,
  };
}

export function presentAuditEntry(entry: AuditEntry) {
  return {
    seq: entry.seq,
    time: entry.time,
    actor: entry.actor,
    action: entry.action,
    resource: entry.resource,
    changes: entry.changes,
    request_id: entry.requestId,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

export function presentDeployment(d: Deployment) {
  return {
    id: d.id, model: d.model, version: d.version, environment: d.environment, target: d.target, status: d.status,
    replicas: d.replicas, traffic_share: d.trafficShare, source: d.source, reported_by: d.reportedBy,
    created_at: d.createdAt, updated_at: d.updatedAt,
  };
}

export function presentDeploymentChange(c: DeploymentChange) {
  return { at: c.at, actor: c.actor, status: c.status, replicas: c.replicas, traffic_share: c.trafficShare, note: c.note };
}

export function presentObservation(o: Observation) {
  return {
    id: o.id, version: o.version, deployment_id: o.deploymentId, metric: o.metric, value: o.value, window_start: o.windowStart,
    window_end: o.windowEnd, source: o.source, recorded_by: o.recordedBy, recorded_at: o.recordedAt,
  };
}

export function presentAlertRule(r: AlertRule) {
  return { id: r.id, metric: r.metric, op: r.op, threshold: r.threshold, windows: r.windows, expression: `${r.metric} ${r.op} ${r.threshold}`, created_by: r.createdBy, created_at: r.createdAt };
}

export function presentAlert(a: Alert, model: string) {
  return { id: a.id, rule_id: a.ruleId, model, version: a.version, raised_at: a.raisedAt, resolved_at: a.resolvedAt, observations: a.observations };
}
