/** `modelgate deploy record|update|list|history`, `environment set|list`, `observe`, `alerts`, `alert-rule`, `reproduce-spec`. */
import type { Command } from 'commander';
import type { Deployment } from '../../sdk/client.js';
import { usageError } from '../cli-error.js';
import { connect } from '../context.js';
import { emit, formatTime, printFields, printTable } from '../output.js';
import { positiveInt } from '../parse.js';
import { versionOf } from './lineage.js';

const STATUSES = ['deploying', 'serving', 'failed', 'retired'];
const share = (v: string) => Number(v);

/** Registers the deployment and production-feedback commands. */
export function deploymentCommands(program: Command): void {
  const env = program.command('environment').description('declare environments (admins)');
  env.command('set')
    .description('declare an environment; --production makes it refuse versions not approved for production')
    .argument('<name>')
    .option('--production', 'a production environment')
    .option('--allow-unapproved', 'record any version here, flagging drift instead of refusing')
    .option('--description <text>', 'what it is')
    .action(async (name: string, opts: { production?: boolean; allowUnapproved?: boolean; description?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const saved = await ctx.client.setEnvironment(name, { production: !!opts.production, require_approved: opts.production ? !opts.allowUnapproved : false, description: opts.description });
      emit(ctx, saved, () => process.stdout.write(`${saved.name}: ${saved.production ? 'production' : 'not production'}${saved.require_approved ? ', only approved versions' : ''}\n`));
    });

  const deploy = program.command('deploy').description('record what is actually running, where');
  deploy.command('record')
    .description('record that a version is deployed to an environment and target')
    .argument('<model@version>').argument('<environment>').argument('<target>', 'e.g. fraud-api')
    .option('--status <status>', STATUSES.join(', '), 'deploying')
    .option('--replicas <n>', 'how many replicas', (v: string) => Number(v))
    .option('--traffic-share <0-1>', 'share of traffic', share)
    .option('--source <what>', 'what reported it, e.g. argocd')
    .action(async (spec: string, environment: string, target: string, opts: { status: string; replicas?: number; trafficShare?: number; source?: string }, cmd: Command) => {
      if (!STATUSES.includes(opts.status)) throw usageError(`--status is one of ${STATUSES.join(', ')}`);
      const ctx = await connect(cmd);
      const { model, version } = await versionOf(ctx.client, spec);
      const d = await ctx.client.recordDeployment(model, {
        environment, target, version, status: opts.status as Deployment['status'], replicas: opts.replicas, traffic_share: opts.trafficShare, source: opts.source,
      });
      emit(ctx, d, () => printDeployment(d));
    });
  deploy.command('update')
    .description('update a deployment as it changes')
    .argument('<deployment-id>')
    .option('--status <status>', STATUSES.join(', '))
    .option('--version <n>', 'the version now deployed', positiveInt)
    .option('--replicas <n>', 'how many replicas', (v: string) => Number(v))
    .option('--traffic-share <0-1>', 'share of traffic', share)
    .option('--note <text>', 'what happened')
    .action(async (id: string, opts: { status?: string; version?: number; replicas?: number; trafficShare?: number; note?: string }, cmd: Command) => {
      if (opts.status !== undefined && !STATUSES.includes(opts.status)) throw usageError(`--status is one of ${STATUSES.join(', ')}`);
      const ctx = await connect(cmd);
      const d = await ctx.client.updateDeployment(id, {
        status: opts.status as Deployment['status'] | undefined, version: opts.version, replicas: opts.replicas, traffic_share: opts.trafficShare, note: opts.note,
      });
      emit(ctx, d, () => printDeployment(d));
    });
  deploy.command('list')
    .description('what runs where (newest first)')
    .option('--model <name>', 'one model')
    .option('--environment <name>', 'one environment')
    .option('--all', 'include failed and retired deployments')
    .action(async (opts: { model?: string; environment?: string; all?: boolean }, cmd: Command) => {
      const ctx = await connect(cmd);
      const rows = await ctx.client.listDeployments({ model: opts.model, environment: opts.environment, active: !opts.all });
      emit(ctx, { deployments: rows }, () => printTable(['id', 'model', 'version', 'environment', 'target', 'status', 'replicas', 'traffic', 'since', 'drift'],
        rows.map((d) => [d.id, d.model, d.version, d.environment, d.target, d.status, d.replicas, d.traffic_share, formatTime(d.updated_at), d.drift ? 'NOT APPROVED' : ''])));
    });
  deploy.command('history')
    .description('every change of one deployment')
    .argument('<deployment-id>')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const h = await ctx.client.deploymentHistory(id);
      emit(ctx, h, () => printTable(['at', 'by', 'status', 'replicas', 'traffic', 'note'], h.changes.map((c) => [formatTime(c.at), c.actor, c.status, c.replicas, c.traffic_share, c.note])));
    });

  program.command('observe')
    .description('report a production observation of a version (monitoring systems)')
    .argument('<model@version>').argument('<metric>').argument('<value>')
    .requiredOption('--from <time>', 'start of the window (ISO-8601)')
    .requiredOption('--to <time>', 'end of the window (ISO-8601)')
    .requiredOption('--source <what>', 'what measured it')
    .option('--deployment <id>', 'the deployment it was measured on')
    .action(async (spec: string, metric: string, value: string, opts: { from: string; to: string; source: string; deployment?: string }, cmd: Command) => {
      const number = Number(value);
      if (value.trim() === '' || !Number.isFinite(number)) throw usageError(`value ${JSON.stringify(value)} is not a finite number`);
      const ctx = await connect(cmd);
      const { model, version } = await versionOf(ctx.client, spec);
      const o = await ctx.client.observe(model, version, { metric, value: number, window_start: opts.from, window_end: opts.to, source: opts.source, deployment_id: opts.deployment });
      emit(ctx, o, () => {
        process.stdout.write(`recorded ${o.metric}=${o.value} for ${model} version ${version}\n`);
        for (const a of o.alerts_raised) process.stdout.write(`ALERT raised: ${a.id} (version ${a.version} is now marked degraded)\n`);
      });
    });

  const rule = program.command('alert-rule').description("a model's production alert rules");
  rule.command('add')
    .description('e.g. modelgate alert-rule add fraud "psi > 0.2" --windows 3')
    .argument('<model>').argument('<rule>', '<metric> <op> <number>')
    .option('--windows <n>', 'consecutive windows that must break it', positiveInt, 1)
    .action(async (model: string, expression: string, opts: { windows: number }, cmd: Command) => {
      const ctx = await connect(cmd);
      const r = await ctx.client.createAlertRule(model, expression, opts.windows);
      emit(ctx, r, () => process.stdout.write(`alert rule ${r.id}: ${r.expression} for ${r.windows} window(s)\n`));
    });
  rule.command('list').argument('<model>').action(async (model: string, _opts: object, cmd: Command) => {
    const ctx = await connect(cmd);
    const rules = await ctx.client.alertRules(model);
    emit(ctx, { rules }, () => printTable(['id', 'rule', 'windows', 'by'], rules.map((r) => [r.id, r.expression, r.windows, r.created_by])));
  });
  rule.command('rm').argument('<model>').argument('<rule-id>').action(async (model: string, id: string, _opts: object, cmd: Command) => {
    const ctx = await connect(cmd);
    await ctx.client.deleteAlertRule(model, id);
    emit(ctx, { id, deleted: true }, () => process.stdout.write(`removed alert rule ${id}\n`));
  });

  program.command('alerts')
    .description('alerts raised by production observations')
    .option('--model <name>', 'one model')
    .option('--open', 'only unresolved ones')
    .action(async (opts: { model?: string; open?: boolean }, cmd: Command) => {
      const ctx = await connect(cmd);
      const alerts = await ctx.client.alerts({ model: opts.model, open: opts.open });
      emit(ctx, { alerts }, () => printTable(['id', 'model', 'version', 'raised', 'resolved'], alerts.map((a) => [a.id, a.model, a.version, formatTime(a.raised_at), formatTime(a.resolved_at)])));
    });

  program.command('resolve-alert')
    .description('resolve an alert, saying what was done; the version stops being degraded once none is open')
    .argument('<alert-id>')
    .requiredOption('--comment <text>', 'what was done (kept in the audit log)')
    .action(async (id: string, opts: { comment: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const resolved = await ctx.client.resolveAlert(id, opts.comment);
      emit(ctx, resolved, () => process.stdout.write(`resolved alert ${resolved.id} on version ${resolved.version}\n`));
    });

  program.command('reproduce-spec')
    .description('what is needed to rebuild a version (JSON), and what is missing')
    .argument('<model@ref>')
    .action(async (spec: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const { model, version } = await versionOf(ctx.client, spec);
      const repro = await ctx.client.reproduceSpec(model, version);
      process.stdout.write(JSON.stringify(repro, null, 2) + '\n');
      if (!repro.reproducible) process.stderr.write(`not reproducible yet: missing ${repro.missing.join('; ')}\n`);
    });
}

function printDeployment(d: Deployment): void {
  printFields([
    ['deployment', d.id], ['model', `${d.model} version ${d.version}`], ['where', `${d.environment}/${d.target}`], ['status', d.status],
    ['replicas', d.replicas], ['traffic', d.traffic_share], ['reported', `${formatTime(d.updated_at)} by ${d.reported_by}${d.source ? ` (${d.source})` : ''}`],
    ['drift', d.drift ? 'runs a version that is NOT approved for production' : 'none'],
  ]);
}
