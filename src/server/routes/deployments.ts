import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentAlert, presentAlertRule, presentDeployment, presentDeploymentChange, presentObservation } from '../../core/present.js';
import type { Registry } from '../../core/registry.js';
import type { DeploymentView } from '../../core/services/deployment-service.js';
import { ctx } from '../auth.js';
import { Name, replies } from '../schemas.js';

const VersionParams = Type.Object({ name: Name, version: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const Status = Type.Union(['deploying', 'serving', 'failed', 'retired'].map((s) => Type.Literal(s)));
const DeploymentReply = Type.Object({
  id: Type.String(), model: Type.String(), version: Type.Integer(), environment: Type.String(), target: Type.String(), status: Type.String(),
  replicas: Type.Union([Type.Integer(), Type.Null()]), traffic_share: Type.Union([Type.Number(), Type.Null()]), source: Type.String(),
  reported_by: Type.String(), created_at: Type.String(), updated_at: Type.String(), drift: Type.Boolean(),
});
const present = (v: DeploymentView) => ({ ...presentDeployment(v.deployment), drift: v.drift });
const Shares = {
  replicas: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000 }), Type.Null()])),
  traffic_share: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
  note: Type.Optional(Type.String({ maxLength: 2000 })),
};

export function deploymentRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.put('/environments/:name', {
      schema: {
        summary: 'Declare an environment (admins); a production one may refuse versions not approved for production', tags: ['deployments'],
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: Type.Object({ production: Type.Boolean(), require_approved: Type.Optional(Type.Boolean()), description: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
      },
    }, async (request) => {
      const env = await registry.deployments.putEnvironment(ctx(request), request.params.name, {
        production: request.body.production, requireApproved: request.body.require_approved, description: request.body.description,
      });
      return { name: env.name, production: env.production, require_approved: env.requireApproved, description: env.description };
    });

    app.get('/environments', { schema: { summary: 'List environments', tags: ['deployments'] } }, async () => ({
      environments: (await registry.deployments.environments()).map((e) => ({ name: e.name, production: e.production, require_approved: e.requireApproved, description: e.description })),
    }));

    app.post('/models/:name/deployments', {
      schema: {
        summary: 'Record that a version is deployed to an environment and target', tags: ['deployments'], params: Type.Object({ name: Name }),
        body: Type.Object({
          environment: Type.String({ minLength: 1, maxLength: 64 }), target: Type.String({ minLength: 1, maxLength: 256 }),
          version: Type.Integer({ minimum: 1, maximum: 2147483647 }), status: Status, source: Type.Optional(Type.String({ maxLength: 256 })), ...Shares,
        }, { additionalProperties: false }),
        response: replies({ 201: DeploymentReply }),
      },
    }, async (request, reply) => {
      const b = request.body;
      const view = await registry.deployments.record(ctx(request), request.params.name, {
        environment: b.environment, target: b.target, version: b.version, status: b.status, source: b.source, replicas: b.replicas, trafficShare: b.traffic_share, note: b.note,
      });
      return reply.status(201).send(present(view));
    });

    app.patch('/deployments/:id', {
      schema: {
        summary: 'Update a deployment as it changes', tags: ['deployments'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ status: Type.Optional(Status), version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })), ...Shares }, { additionalProperties: false }),
        response: replies({ 200: DeploymentReply }),
      },
    }, async (request) => {
      const b = request.body;
      return present(await registry.deployments.update(ctx(request), request.params.id, {
        status: b.status, version: b.version, replicas: b.replicas, trafficShare: b.traffic_share, note: b.note,
      }));
    });

    app.get('/deployments', {
      schema: {
        summary: 'What runs where: deployments, newest first (active=true: deploying or serving now)', tags: ['deployments'],
        querystring: Type.Object({
          model: Type.Optional(Name), environment: Type.Optional(Type.String({ maxLength: 64 })), active: Type.Optional(Type.Boolean()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }, { additionalProperties: false }),
        response: replies({ 200: Type.Object({ deployments: Type.Array(DeploymentReply) }) }),
      },
    }, async (request) => ({ deployments: (await registry.deployments.list(request.query)).map(present) }));

    app.get('/deployments/:id/history', {
      schema: { summary: 'Every change of a deployment', tags: ['deployments'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }) },
    }, async (request) => {
      const { deployment, changes } = await registry.deployments.history(request.params.id);
      return { deployment: presentDeployment(deployment), changes: changes.map(presentDeploymentChange) };
    });

    app.post('/models/:name/versions/:version/observations', {
      schema: {
        summary: 'Report a production observation (metric over a time window); may raise alerts', tags: ['deployments'], params: VersionParams,
        body: Type.Object({
          metric: Type.String({ minLength: 1, maxLength: 250 }), value: Type.Number(), window_start: Type.String({ maxLength: 40 }),
          window_end: Type.String({ maxLength: 40 }), source: Type.String({ minLength: 1, maxLength: 256 }), deployment_id: Type.Optional(Type.String({ maxLength: 64 })),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const b = request.body;
      const { observation, raised } = await registry.feedback.observe(ctx(request), request.params.name, request.params.version, {
        metric: b.metric, value: b.value, windowStart: b.window_start, windowEnd: b.window_end, source: b.source, deploymentId: b.deployment_id,
      });
      return reply.status(201).send({ ...presentObservation(observation), alerts_raised: raised.map((a) => presentAlert(a, request.params.name)) });
    });

    app.get('/models/:name/versions/:version/observations', {
      schema: { summary: 'Recent observations of a version, newest first', tags: ['deployments'], params: VersionParams, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }) },
    }, async (request) => ({ observations: (await registry.feedback.observations(request.params.name, request.params.version, request.query.limit)).map(presentObservation) }));

    app.post('/models/:name/alert-rules', {
      schema: {
        summary: 'Add an alert rule, e.g. "psi > 0.2" for 3 windows', tags: ['deployments'], params: Type.Object({ name: Name }),
        body: Type.Object({ rule: Type.String({ minLength: 3, maxLength: 300 }), windows: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false }),
      },
    }, async (request, reply) => reply.status(201).send(presentAlertRule(await registry.feedback.createRule(ctx(request), request.params.name, { expression: request.body.rule, windows: request.body.windows }))));

    app.get('/models/:name/alert-rules', {
      schema: { summary: "A model's alert rules", tags: ['deployments'], params: Type.Object({ name: Name }) },
    }, async (request) => ({ rules: (await registry.feedback.rules(request.params.name)).map(presentAlertRule) }));

    app.delete('/models/:name/alert-rules/:id', {
      schema: { summary: 'Remove an alert rule', tags: ['deployments'], params: Type.Object({ name: Name, id: Type.String({ maxLength: 64 }) }), response: replies({ 204: Type.Null() }) },
    }, async (request, reply) => {
      await registry.feedback.deleteRule(ctx(request), request.params.name, request.params.id);
      return reply.status(204).send(null);
    });

    app.get('/alerts', {
      schema: {
        summary: 'Alerts raised by production observations, newest first', tags: ['deployments'],
        querystring: Type.Object({ model: Type.Optional(Name), open: Type.Optional(Type.Boolean()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
      },
    }, async (request) => ({ alerts: (await registry.feedback.alerts(request.query)).map((a) => presentAlert(a.alert, a.model)) }));

    app.post('/alerts/:id/resolve', {
      schema: {
        summary: 'Resolve an alert, saying what was done; a version with no open alert left is no longer degraded', tags: ['deployments'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ comment: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }),
      },
    }, async (request) => {
      const alert = await registry.feedback.resolveAlert(ctx(request), request.params.id, request.body.comment);
      return { id: alert.id, version: alert.version, raised_at: alert.raisedAt, resolved_at: alert.resolvedAt };
    });

    app.get('/models/:name/versions/:version/reproduce', {
      schema: { summary: 'What is needed to rebuild a version, and what is missing', tags: ['lineage'], params: VersionParams },
    }, async (request) => registry.lineage.reproduceSpec(request.params.name, request.params.version));
  };
}
