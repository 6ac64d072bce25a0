/** `modelgate promote`, `alias set|rm`, `resolve` and `download`. */
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import type { Promotion, Resolved } from '../../sdk/client.js';
import { CliError } from '../cli-error.js';
import { connect } from '../context.js';
import { downloadVersion } from '../download.js';
import { emit, formatBytes, formatTime, printFields, printTable } from '../output.js';
import { positiveInt } from '../parse.js';

/** Registers the stage, alias and resolve commands. */
export function stageCommands(program: Command): void {
  program.command('promote')
    .description('request a move to a stage or alias; applied at once or after the approvals its policy asks for')
    .argument('<model>').argument('<version>', 'version number', positiveInt)
    .argument('<target>', 'staging, production, archived or @<alias>')
    .requiredOption('--reason <text>', 'why (kept in the audit log)')
    .action(async (model: string, number: number, target: string, opts: { reason: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const promotion = await ctx.client.promote(model, number, { target, reason: opts.reason });
      emit(ctx, promotion, () => printPromotion(promotion));
    });

  const alias = program.command('alias').description('point named aliases (e.g. champion) at versions');
  alias.command('set')
    .description('create an alias or move it to another version')
    .argument('<model>').argument('<alias>', 'alias name, with or without a leading @')
    .argument('<version>', 'version number', positiveInt)
    .action(async (model: string, name: string, number: number, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const version = await ctx.client.setAlias(model, bare(name), number);
      emit(ctx, version, () => process.stdout.write(`@${bare(name)} -> ${version.model} version ${version.version}\n`));
    });
  alias.command('rm')
    .description('delete an alias')
    .argument('<model>').argument('<alias>', 'alias name, with or without a leading @')
    .action(async (model: string, name: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      await ctx.client.deleteAlias(model, bare(name));
      emit(ctx, { model, alias: bare(name), deleted: true }, () => process.stdout.write(`deleted @${bare(name)} of ${model}\n`));
    });

  program.command('resolve')
    .description('find the version a ref points to, with its files and download URLs')
    .argument('<model>').argument('[ref]', 'production, staging, @<alias> or a version number', 'production')
    .action(async (model: string, ref: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const { resolved } = (await ctx.client.resolve(model, ref))!;
      emit(ctx, resolved, () => printResolved(resolved));
    });

  program.command('download')
    .description("download a version's files, checking each against its sha256")
    .argument('<model>', 'a model name, or model@ref')
    .argument('[ref]', 'production, staging, @<alias> or a version number', 'production')
    .option('--out <dir>', 'directory to write into (default ./<model>-v<version>)')
    .action(async (spec: string, given: string, opts: { out?: string }, cmd: Command) => {
      // `fraud@3` and `fraud 3` mean the same; a model name never contains '@'.
      const at = spec.indexOf('@');
      const model = at === -1 ? spec : spec.slice(0, at);
      const ref = at === -1 ? given : spec.slice(at + 1);
      const ctx = await connect(cmd);
      const { resolved } = (await ctx.client.resolve(model, ref))!;
      if (resolved.files.length === 0) {
        throw new CliError('NO_FILES', `version ${resolved.version} of ${resolved.model} has no uploaded files; its bytes are at ${resolved.source_uri}`);
      }
      const out = resolvePath(opts.out ?? `${resolved.model}-v${resolved.version}`);
      const result = await downloadVersion(ctx.client, resolved, out);
      emit(ctx, { ...resolved, out, ...result }, () => process.stdout.write(
        `downloaded ${resolved.model} version ${resolved.version} to ${out} ` +
        `(${result.written} written, ${result.kept} already present and verified)\n`));
    });
}

/** Aliases are named without the `@` in paths; accept either spelling from people. */
function bare(alias: string): string {
  return alias.startsWith('@') ? alias.slice(1) : alias;
}

/** A promotion as a key-value block, with its gate results and approvals spelled out. */
export function printPromotion(p: Promotion): void {
  const required = p.policy?.approvals_required ?? 0;
  printFields([
    ['promotion', p.id],
    ['status', p.status],
    ['model', `${p.model} version ${p.version}`],
    ['target', p.target],
    ['reason', p.reason],
    ['requested', `${formatTime(p.created_at)} by ${p.requested_by}`],
    ['approvals', `${p.approvals.length} of ${required}${p.policy?.separation_of_duties ? ' (separation of duties)' : ''}` +
      p.approvals.map((a) => `\n${a.username} (${a.role}) ${formatTime(a.at)}${a.comment ? `: ${a.comment}` : ''}`).join('')],
    ['checks', p.checks.map((c) => `${c.passed ? 'pass' : 'FAIL'}  ${c.gate}: ${c.message}`).join('\n')],
    ['decided', p.decided_at ? `${formatTime(p.decided_at)} by ${p.decided_by}${p.decision_comment ? `: ${p.decision_comment}` : ''}` : ''],
  ]);
  if (p.status === 'pending') {
    process.stdout.write(`\nwaiting for ${required - p.approvals.length} more approval(s): modelgate approve ${p.id}\n`);
  }
}

function printResolved(r: Resolved): void {
  printFields([
    ['model', r.model],
    ['version', r.version],
    ['digest', r.digest],
    ['stage', r.stage],
    ['aliases', r.aliases.map((a) => `@${a}`).join(' ')],
    ...(r.source_uri ? [['source', r.source_uri] as [string, string]] : []),
  ]);
  if (r.files.length > 0) {
    process.stdout.write('\n');
    printTable(['path', 'size', 'digest', 'url'], r.files.map((f) => [f.path, formatBytes(f.size), f.digest, f.url]));
  }
}
