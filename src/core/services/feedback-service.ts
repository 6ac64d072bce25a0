/**
 * Production feedback: monitoring systems report observations of a deployed version (a
 * metric over a time window); per-model alert rules (`psi > 0.2` for 3 windows) raise an
 * alert and mark the version degraded. Degraded informs people and deployment systems; it
 * never changes what is served by itself.
 */
import { hasRole, requireRole } from '../access.js';
import { change, type CoreDeps } from '../core-deps.js';
import { ModelgateError, errors } from '../errors.js';
import { compareMetric, parseMetricFilter } from '../filters.js';
import type { ChangeLog, RequestContext } from '../journal.js';
import { checkMetricName } from '../names.js';
import { presentAlert, presentAlertRule, presentObservation, presentVersion } from '../present.js';
import type { Repositories } from '../ports.js';
import type { Actor, Alert, AlertRule, Model, Observation, Version } from '../types.js';
import { lockModel, modelResource, requireModel, requireVersion, versionResource } from './lookup.js';

export interface ObservationInput {
  metric: string;
  value: number;
  windowStart: string;
  windowEnd: string;
  source: string;
  deploymentId?: string;
}

export class FeedbackService {
  constructor(private readonly deps: CoreDeps) {}

  async observe(ctx: RequestContext, modelName: string, number: number, input: ObservationInput): Promise<{ observation: Observation; raised: Alert[] }> {
    requireRole(ctx.actor, 'contributor', 'reporting observations');
    checkMetricName(input.metric);
    if (typeof input.value !== 'number' || !Number.isFinite(input.value)) throw errors.validation('value must be a finite number');
    const start = isoTime(input.windowStart, 'window_start');
    const end = isoTime(input.windowEnd, 'window_end');
    if (end <= start) throw errors.validation('window_end must be after window_start', { window_start: start, window_end: end });
    if (input.source.trim() === '' || input.source.length > 256) throw errors.validation('source must be 1-256 characters, e.g. the monitoring job');
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      const version = await requireVersion(repos, model, number);
      if (input.deploymentId !== undefined) {
        const deployment = await repos.deployments.get(input.deploymentId);
        if (!deployment || deployment.modelId !== model.id || deployment.version !== number) {
          throw new ModelgateError('NOT_FOUND', `deployment ${input.deploymentId} is not a deployment of ${model.name} version ${number}`);
        }
      }
      const observation: Observation = {
        id: this.deps.ids.uuid(), modelId: model.id, version: number, deploymentId: input.deploymentId ?? null, metric: input.metric,
        value: input.value, windowStart: start, windowEnd: end, source: input.source, recordedBy: ctx.actor.username, recordedAt: this.deps.clock.now(),
      };
      await repos.feedback.insertObservation(observation);
      log.record({
        action: 'observation.recorded', resource: `${versionResource(version)}/observations/${observation.id}`, subject: model.name,
        changes: { metric: input.metric, value: input.value, window_start: start, window_end: end, source: input.source },
        data: { observation: presentObservation(observation), model: model.name },
      });
      const raised = await this.evaluate(repos, log, model, version, input.metric);
      return { observation, raised };
    });
  }

  /** Fires each rule on this metric whose last N windows all break its threshold, once per version until resolved. */
  private async evaluate(repos: Repositories, log: ChangeLog, model: Model, version: Version, metric: string): Promise<Alert[]> {
    const raised: Alert[] = [];
    for (const rule of (await repos.feedback.rules(model.id)).filter((r) => r.metric === metric)) {
      const latest = await repos.feedback.latest(model.id, version.version, metric, rule.windows);
      if (latest.length < rule.windows || !latest.every((o) => compareMetric(o.value, rule.op, rule.threshold))) continue;
      if (await repos.feedback.openAlert(rule.id, version.version)) continue;
      const now = this.deps.clock.now();
      const alert: Alert = { id: this.deps.ids.uuid(), ruleId: rule.id, modelId: model.id, version: version.version, raisedAt: now, resolvedAt: null, observations: latest.map((o) => o.id) };
      await repos.feedback.insertAlert(alert);
      log.record({
        action: 'alert.raised', resource: `${versionResource(version)}/alerts/${alert.id}`, subject: model.name,
        changes: { rule: `${rule.metric} ${rule.op} ${rule.threshold}`, windows: rule.windows, values: latest.map((o) => o.value) },
        data: { alert: presentAlert(alert, model.name), rule: presentAlertRule(rule) },
      });
      if (version.degradedAt === null) {
        await repos.versions.setDegraded(version.id, now);
        const after = await requireVersion(repos, model, version.version);
        log.record({
          action: 'version.degraded', resource: versionResource(after), subject: model.name,
          changes: { degraded: { from: false, to: true }, alert: alert.id }, data: { version: presentVersion(after) },
        });
        version = after;
      }
      raised.push(alert);
    }
    return raised;
  }

  async createRule(ctx: RequestContext, modelName: string, input: { expression: string; windows?: number }): Promise<AlertRule> {
    const condition = parseMetricFilter(`metrics.${input.expression.trim()}`);
    const windows = input.windows ?? 1;
    if (!Number.isInteger(windows) || windows < 1 || windows > 100) throw errors.validation('windows must be a whole number from 1 to 100');
    return change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      requireManager(ctx.actor, model);
      const rule: AlertRule = {
        id: this.deps.ids.uuid(), modelId: model.id, metric: condition.name, op: condition.op, threshold: condition.value, windows,
        createdBy: ctx.actor.username, createdAt: this.deps.clock.now(),
      };
      await repos.feedback.insertRule(rule);
      log.record({
        action: 'alert_rule.created', resource: `${modelResource(model)}/alert-rules/${rule.id}`, subject: model.name,
        changes: { rule: `${rule.metric} ${rule.op} ${rule.threshold}`, windows }, data: { rule: presentAlertRule(rule), model: model.name },
      });
      return rule;
    });
  }

  async rules(modelName: string): Promise<AlertRule[]> {
    const repos = this.deps.uow.read;
    return repos.feedback.rules((await requireModel(repos, modelName)).id);
  }

  async deleteRule(ctx: RequestContext, modelName: string, id: string): Promise<void> {
    await change(this.deps, ctx, async (repos, log) => {
      const model = await lockModel(repos, modelName);
      requireManager(ctx.actor, model);
      const rule = (await repos.feedback.rules(model.id)).find((r) => r.id === id);
      if (!rule) throw new ModelgateError('NOT_FOUND', `model ${model.name} has no alert rule ${id}`);
      await repos.feedback.deleteRule(id);
      log.record({
        action: 'alert_rule.deleted', resource: `${modelResource(model)}/alert-rules/${id}`, subject: model.name,
        changes: { rule: `${rule.metric} ${rule.op} ${rule.threshold}` }, data: { rule: presentAlertRule(rule), model: model.name },
      });
    });
  }

  /** Resolves an alert, saying why; when a version has no open alert left, it is no longer degraded. */
  async resolveAlert(ctx: RequestContext, id: string, comment: string): Promise<Alert> {
    if (comment.trim() === '') throw errors.validation('resolving an alert needs a comment saying what was done');
    return change(this.deps, ctx, async (repos, log) => {
      const found = await repos.feedback.alert(id);
      if (!found) throw new ModelgateError('NOT_FOUND', `alert ${id} does not exist`, { alert_id: id });
      const model = await lockModel(repos, (await repos.models.findById(found.modelId))!.name);
      requireManager(ctx.actor, model);
      const alert = (await repos.feedback.alert(id))!;
      if (alert.resolvedAt !== null) return alert;
      const now = this.deps.clock.now();
      await repos.feedback.resolveAlert(id, now);
      const version = await requireVersion(repos, model, alert.version);
      log.record({
        action: 'alert.resolved', resource: `${versionResource(version)}/alerts/${id}`, subject: model.name,
        changes: { comment }, data: { alert: presentAlert({ ...alert, resolvedAt: now }, model.name) },
      });
      if ((await repos.feedback.openAlertsOf(model.id, alert.version)).length === 0 && version.degradedAt !== null) {
        await repos.versions.setDegraded(version.id, null);
        const after = await requireVersion(repos, model, alert.version);
        log.record({
          action: 'version.recovered', resource: versionResource(after), subject: model.name,
          changes: { degraded: { from: true, to: false }, alert: id }, data: { version: presentVersion(after) },
        });
      }
      return { ...alert, resolvedAt: now };
    });
  }

  async alerts(input: { model?: string; open?: boolean; limit?: number }): Promise<{ alert: Alert; model: string }[]> {
    const repos = this.deps.uow.read;
    const model = input.model === undefined ? undefined : await requireModel(repos, input.model);
    const rows = await repos.feedback.alerts({ modelId: model?.id, open: input.open, limit: input.limit ?? 200 });
    const names = new Map<string, string>();
    for (const id of new Set(rows.map((r) => r.modelId))) names.set(id, (await repos.models.findById(id))?.name ?? id);
    return rows.map((alert) => ({ alert, model: names.get(alert.modelId)! }));
  }

  async observations(modelName: string, number: number, limit = 100): Promise<Observation[]> {
    const repos = this.deps.uow.read;
    const model = await requireModel(repos, modelName);
    await requireVersion(repos, model, number);
    return repos.feedback.recent(model.id, number, Math.min(Math.max(limit, 1), 1000));
  }
}

function requireManager(actor: Actor, model: Model): void {
  requireRole(actor, 'contributor', 'managing alert rules');
  if (!hasRole(actor, 'approver') && actor.username !== model.owner) {
    throw errors.forbidden(`alert rules of ${model.name} are set by its owner (${model.owner}), approvers and admins`);
  }
}


function isoTime(value: string, field: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw errors.validation(`${field} must be an ISO-8601 time`, { [field]: value });
  return new Date(ms).toISOString();
}
