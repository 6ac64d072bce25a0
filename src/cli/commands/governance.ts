/** `modelgate approve|reject|cancel|inbox|rollback|history` and `policy show|set`. */
import type { Command } from 'commander';
import type { PolicyDocument, Promotion, TargetRule } from '../../sdk/client.js';
import { connect } from '../context.js';
import { readJson } from '../local-input.js';
import { emit, formatTime, notePage, printTable, truncate } from '../output.js';
import { positiveInt } from '../parse.js';
import { printPromotion } from './stages.js';

/** Registers the review, rollback and policy commands. */
export function governanceCommands(program: Command): void {
  program.command('approve')
    .description('approve a pending promotion; the last approval needed applies it')
    .argument('<promotion-id>')
    .option('--comment <text>', 'what you checked')
    .action(async (id: string, opts: { comment?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const promotion = await ctx.client.approve(id, opts.comment);
      emit(ctx, promotion, () => printPromotion(promotion));
    });

  program.command('reject')
    .description('reject a pending promotion; a version waiting in staging goes back to development')
    .argument('<promotion-id>')
    .requiredOption('--comment <text>', 'why (kept in the audit log)')
    .action(async (id: string, opts: { comment: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const promotion = await ctx.client.reject(id, opts.comment);
      emit(ctx, promotion, () => printPromotion(promotion));
    });

  program.command('cancel')
    .description('withdraw a promotion you requested')
    .argument('<promotion-id>')
    .option('--comment <text>', 'why')
    .action(async (id: string, opts: { comment?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const promotion = await ctx.client.cancelPromotion(id, opts.comment);
      emit(ctx, promotion, () => printPromotion(promotion));
    });

  program.command('inbox')
    .description('pending promotions you may approve now (--all: every pending promotion)')
    .option('--all', 'every pending promotion, not only those waiting for you')
    .option('--model <name>', 'only this model')
    .option('--target <target>', 'only this target, e.g. production or @champion')
    .option('--page-size <n>', 'how many', positiveInt)
    .option('--page-token <token>', 'continue a previous listing')
    .action(async (opts: { all?: boolean; model?: string; target?: string; pageSize?: number; pageToken?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const page = await ctx.client.listPromotions({
        status: 'pending', waiting_for: opts.all ? undefined : 'me', model: opts.model, target: opts.target,
        page_size: opts.pageSize, page_token: opts.pageToken,
      });
      emit(ctx, page, () => {
        printTable(['id', 'model', 'version', 'target', 'approvals', 'requested by', 'requested', 'reason'],
          page.promotions.map((p) => [p.id, p.model, p.version, p.target, approvals(p), p.requested_by, formatTime(p.created_at), truncate(p.reason, 50)]));
        notePage(page.next_page_token);
      });
    });

  program.command('rollback')
    .description('move production (or an alias) back to a version approved for it before; no new approval needed')
    .argument('<model>')
    .requiredOption('--reason <text>', 'why (kept in the audit log and sent with the event)')
    .option('--target <target>', 'production or @<alias>', 'production')
    .option('--version <n>', 'a specific earlier version (default: the most recent earlier approved one)', positiveInt)
    .action(async (model: string, opts: { reason: string; target: string; version?: number }, cmd: Command) => {
      const ctx = await connect(cmd);
      const result = await ctx.client.rollback(model, { reason: opts.reason, target: opts.target, version: opts.version });
      emit(ctx, result, () => process.stdout.write(
        `rolled ${result.model} ${result.target} back from ${result.from_version === null ? 'nothing' : `version ${result.from_version}`} to version ${result.to_version}\n`));
    });

  program.command('history')
    .description('who held production (or a stage or alias) when, and who approved it')
    .argument('<model>')
    .option('--target <target>', 'production, staging or @<alias>', 'production')
    .option('--page-size <n>', 'how many', positiveInt)
    .option('--page-token <token>', 'continue a previous listing')
    .action(async (model: string, opts: { target: string; pageSize?: number; pageToken?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const page = await ctx.client.history(model, { target: opts.target, page_size: opts.pageSize, page_token: opts.pageToken });
      emit(ctx, page, () => {
        printTable(['version', 'from', 'until', 'via', 'requested by', 'approved by', 'reason'], page.history.map((h) => [
          h.version, formatTime(h.started_at), h.ended_at ? formatTime(h.ended_at) : 'now', h.via, h.actor, h.approved_by.join(', '), truncate(h.reason, 50),
        ]));
        notePage(page.next_page_token);
      });
    });

  const policy = program.command('policy').description("show or replace a model's policy, or the server default");
  policy.command('show')
    .description("the rules in force for a model (or, without one, the server default)")
    .argument('[model]')
    .action(async (model: string | undefined, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      if (model === undefined) {
        const doc = await ctx.client.getDefaultPolicy();
        emit(ctx, doc, () => printRules(doc.targets as Record<string, TargetRule>));
        return;
      }
      const view = await ctx.client.getModelPolicy(model);
      emit(ctx, view, () => {
        printRules(view.targets, view.model_policy?.targets);
        process.stdout.write(view.model_policy ? '\n(own: the model sets these targets; the rest follow the server default)\n' : '\n(the model follows the server default)\n');
      });
    });
  policy.command('set')
    .description('replace a policy with a JSON document {"targets": {...}}')
    .argument('[model]', 'the model (omit with --default)')
    .requiredOption('--file <policy.json>', 'the policy document')
    .option('--default', 'replace the server default policy (admins)')
    .action(async (model: string | undefined, opts: { file: string; default?: boolean }, cmd: Command) => {
      const doc = (await readJson(opts.file, '--file', true)) as PolicyDocument;
      const ctx = await connect(cmd);
      if (opts.default || model === undefined) {
        const saved = await ctx.client.setDefaultPolicy(doc);
        emit(ctx, saved, () => printRules(saved.targets as Record<string, TargetRule>));
      } else {
        const view = await ctx.client.setModelPolicy(model, doc);
        emit(ctx, view, () => printRules(view.targets, view.model_policy?.targets));
      }
    });
}

function approvals(p: Promotion): string {
  return `${p.approvals.length}/${p.policy?.approvals_required ?? 0}`;
}

function printRules(targets: Record<string, TargetRule>, own?: Record<string, TargetRule>): void {
  printTable(['target', 'approvals', 'approver roles', 'groups', 'separation of duties', 'gates', 'set by'],
    Object.entries(targets).map(([target, r]) => [
      target, r.approvals_required, r.approver_roles.join(', '), r.approver_groups.join(', '),
      r.separation_of_duties ? 'yes' : 'no', r.gates.join('; '), own && own[target] ? 'model' : 'default',
    ]));
}

