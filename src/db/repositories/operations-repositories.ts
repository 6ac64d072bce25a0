import type { Kysely } from 'kysely';
import type { DeploymentRepository, FeedbackRepository } from '../../core/ports.js';
import type { Alert, AlertRule, Deployment, DeploymentChange, DeploymentStatus, Environment, Observation } from '../../core/types.js';
import type { AlertRulesTable, AlertsTable, Database, DeploymentHistoryTable, DeploymentsTable, EnvironmentsTable, ObservationsTable } from '../schema.js';
import { fromJson, toJson } from './json.js';

export class KyselyDeploymentRepository implements DeploymentRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async putEnvironment(e: Environment): Promise<void> {
    const values = { production: e.production ? 1 : 0, require_approved: e.requireApproved ? 1 : 0, description: e.description, updated_by: e.updatedBy, updated_at: e.updatedAt };
    await this.db.insertInto('environments').values({ name: e.name, ...values }).onConflict((oc) => oc.column('name').doUpdateSet(values)).execute();
  }

  async environment(name: string): Promise<Environment | null> {
    const row = await this.db.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toEnvironment(row) : null;
  }

  async environments(): Promise<Environment[]> {
    return (await this.db.selectFrom('environments').selectAll().orderBy('name').execute()).map(toEnvironment);
  }

  async insert(d: Omit<Deployment, 'model'>): Promise<void> {
    await this.db.insertInto('deployments').values({
      id: d.id, model_id: d.modelId, version: d.version, environment: d.environment, target: d.target, status: d.status,
      replicas: d.replicas, traffic_share: d.trafficShare, source: d.source, reported_by: d.reportedBy, created_at: d.createdAt, updated_at: d.updatedAt,
    }).execute();
  }

  async get(id: string): Promise<Deployment | null> {
    const row = await this.base().where('d.id', '=', id).executeTakeFirst();
    return row ? toDeployment(row) : null;
  }

  async update(id: string, p: Pick<Deployment, 'version' | 'status' | 'replicas' | 'trafficShare' | 'updatedAt'>): Promise<void> {
    await this.db.updateTable('deployments').set({ version: p.version, status: p.status, replicas: p.replicas, traffic_share: p.trafficShare, updated_at: p.updatedAt })
      .where('id', '=', id).execute();
  }

  async list(query: { modelId?: string; environment?: string; active?: boolean; limit: number }): Promise<Deployment[]> {
    let q = this.base();
    if (query.modelId) q = q.where('d.model_id', '=', query.modelId);
    if (query.environment) q = q.where('d.environment', '=', query.environment);
    if (query.active) q = q.where('d.status', 'in', ['deploying', 'serving']);
    return (await q.orderBy('d.updated_at', 'desc').orderBy('d.id', 'desc').limit(query.limit).execute()).map(toDeployment);
  }

  async addChange(c: DeploymentChange): Promise<void> {
    await this.db.insertInto('deployment_history').values({
      id: c.id, deployment_id: c.deploymentId, at: c.at, actor: c.actor, status: c.status, replicas: c.replicas, traffic_share: c.trafficShare, note: c.note,
    }).execute();
  }

  async changes(deploymentId: string): Promise<DeploymentChange[]> {
    const rows = await this.db.selectFrom('deployment_history').selectAll().where('deployment_id', '=', deploymentId).orderBy('at').orderBy('id').execute();
    return rows.map(toChange);
  }

  private base() {
    return this.db.selectFrom('deployments as d').innerJoin('models as m', 'm.id', 'd.model_id').selectAll('d').select('m.name as model_name');
  }
}

export class KyselyFeedbackRepository implements FeedbackRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insertObservation(o: Observation): Promise<void> {
    await this.db.insertInto('observations').values({
      id: o.id, model_id: o.modelId, version: o.version, deployment_id: o.deploymentId, metric: o.metric, value: o.value,
      window_start: o.windowStart, window_end: o.windowEnd, source: o.source, recorded_by: o.recordedBy, recorded_at: o.recordedAt,
    }).execute();
  }

  async latest(modelId: string, version: number, metric: string, limit: number): Promise<Observation[]> {
    const rows = await this.db.selectFrom('observations').selectAll().where('model_id', '=', modelId).where('version', '=', version)
      .where('metric', '=', metric).orderBy('window_end', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toObservation);
  }

  async recent(modelId: string, version: number, limit: number): Promise<Observation[]> {
    const rows = await this.db.selectFrom('observations').selectAll().where('model_id', '=', modelId).where('version', '=', version)
      .orderBy('window_end', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toObservation);
  }

  async insertRule(r: AlertRule): Promise<void> {
    await this.db.insertInto('alert_rules').values({
      id: r.id, model_id: r.modelId, metric: r.metric, op: r.op, threshold: r.threshold, windows: r.windows, created_by: r.createdBy, created_at: r.createdAt,
    }).execute();
  }

  async rules(modelId: string): Promise<AlertRule[]> {
    return (await this.db.selectFrom('alert_rules').selectAll().where('model_id', '=', modelId).orderBy('created_at').orderBy('id').execute()).map(toRule);
  }

  async deleteRule(id: string): Promise<void> {
    await this.db.deleteFrom('alert_rules').where('id', '=', id).execute();
  }

  async openAlert(ruleId: string, version: number): Promise<Alert | null> {
    const row = await this.db.selectFrom('alerts').selectAll().where('rule_id', '=', ruleId).where('version', '=', version).where('resolved_at', 'is', null).executeTakeFirst();
    return row ? toAlert(row) : null;
  }

  async insertAlert(a: Alert): Promise<void> {
    await this.db.insertInto('alerts').values({
      id: a.id, rule_id: a.ruleId, model_id: a.modelId, version: a.version, raised_at: a.raisedAt, resolved_at: a.resolvedAt, observations: toJson(a.observations),
    }).execute();
  }

  async alert(id: string): Promise<Alert | null> {
    const row = await this.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAlert(row) : null;
  }

  async resolveAlert(id: string, at: string): Promise<void> {
    await this.db.updateTable('alerts').set({ resolved_at: at }).where('id', '=', id).where('resolved_at', 'is', null).execute();
  }

  async openAlertsOf(modelId: string, version: number): Promise<Alert[]> {
    const rows = await this.db.selectFrom('alerts').selectAll().where('model_id', '=', modelId).where('version', '=', version).where('resolved_at', 'is', null).execute();
    return rows.map(toAlert);
  }

  async alerts(query: { modelId?: string; open?: boolean; limit: number }): Promise<Alert[]> {
    let q = this.db.selectFrom('alerts').selectAll();
    if (query.modelId) q = q.where('model_id', '=', query.modelId);
    if (query.open) q = q.where('resolved_at', 'is', null);
    return (await q.orderBy('raised_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute()).map(toAlert);
  }
}

const toEnvironment = (r: EnvironmentsTable): Environment => ({
  name: r.name, production: Number(r.production) === 1, requireApproved: Number(r.require_approved) === 1, description: r.description,
  updatedBy: r.updated_by, updatedAt: r.updated_at,
});

const toDeployment = (r: DeploymentsTable & { model_name: string }): Deployment => ({
  id: r.id, modelId: r.model_id, model: r.model_name, version: Number(r.version), environment: r.environment, target: r.target,
  status: r.status as DeploymentStatus, replicas: r.replicas === null ? null : Number(r.replicas), trafficShare: r.traffic_share === null ? null : Number(r.traffic_share),
  source: r.source, reportedBy: r.reported_by, createdAt: r.created_at, updatedAt: r.updated_at,
});

const toChange = (r: DeploymentHistoryTable): DeploymentChange => ({
  id: r.id, deploymentId: r.deployment_id, at: r.at, actor: r.actor, status: r.status as DeploymentStatus,
  replicas: r.replicas === null ? null : Number(r.replicas), trafficShare: r.traffic_share === null ? null : Number(r.traffic_share), note: r.note,
});

const toObservation = (r: ObservationsTable): Observation => ({
  id: r.id, modelId: r.model_id, version: Number(r.version), deploymentId: r.deployment_id, metric: r.metric, value: Number(r.value),
  windowStart: r.window_start, windowEnd: r.window_end, source: r.source, recordedBy: r.recorded_by, recordedAt: r.recorded_at,
});

const toRule = (r: AlertRulesTable): AlertRule => ({
  id: r.id, modelId: r.model_id, metric: r.metric, op: r.op as AlertRule['op'], threshold: Number(r.threshold), windows: Number(r.windows),
  createdBy: r.created_by, createdAt: r.created_at,
});

const toAlert = (r: AlertsTable): Alert => ({
  id: r.id, ruleId: r.rule_id, modelId: r.model_id, version: Number(r.version), raisedAt: r.raised_at, resolvedAt: r.resolved_at,
  observations: fromJson(r.observations),
});
