/** `modelgate dataset add|list|show`, `lineage`, `impact`, `inventory` and `dossier`. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ModelgateClient } from '../../sdk/client.js';
import { CliError, usageError } from '../cli-error.js';
import { connect } from '../context.js';
import { readJson } from '../local-input.js';
import { emit, formatBytes, formatMap, formatTime, notePage, printFields, printTable } from '../output.js';
import { keyValue, positiveInt } from '../parse.js';

/** `name@ref`, where ref is a version number, production, staging or an alias: resolved to a number. */
export async function versionOf(client: ModelgateClient, spec: string): Promise<{ model: string; version: number }> {
  const at = spec.lastIndexOf('@');
  if (at <= 0) throw usageError(`${JSON.stringify(spec)}: give <model>@<version|production|staging|alias>`);
  const model = spec.slice(0, at);
  const ref = spec.slice(at + 1);
  if (/^\d+$/.test(ref)) return { model, version: Number(ref) };
  const resolved = await client.resolve(model, ref === 'production' || ref === 'staging' ? ref : `@${ref}`);
  return { model: resolved!.resolved.model, version: resolved!.resolved.version };
}

/** Registers the lineage and evidence commands. */
export function lineageCommands(program: Command): void {
  const dataset = program.command('dataset').description('register and look up dataset versions');
  dataset.command('add')
    .description('register a dataset version')
    .argument('<name@version>')
    .option('--uri <uri>', 'where it lives')
    .option('--digest <sha256:hex>', 'its content digest')
    .option('--size <bytes>', 'its size in bytes', positiveInt)
    .option('--description <text>', 'what it holds')
    .option('--schema <file.json>', 'its schema, as JSON')
    .option('--tag <key=value>', 'a tag; repeatable', keyValue)
    .action(async (spec: string, opts: { uri?: string; digest?: string; size?: number; description?: string; schema?: string; tag?: Record<string, string> }, cmd: Command) => {
      const at = spec.lastIndexOf('@');
      if (at <= 0) throw usageError('give the dataset as <name>@<version>');
      const schema = opts.schema === undefined ? undefined : await readJson(opts.schema, '--schema');
      const ctx = await connect(cmd);
      const created = await ctx.client.createDataset({
        name: spec.slice(0, at), version: spec.slice(at + 1), uri: opts.uri, digest: opts.digest, size: opts.size,
        description: opts.description, schema, tags: opts.tag,
      });
      emit(ctx, created, () => process.stdout.write(`registered dataset ${created.name}@${created.version}\n`));
    });
  dataset.command('list')
    .description('list dataset versions')
    .option('--prefix <text>', 'names starting with this')
    .option('--page-size <n>', 'how many', positiveInt)
    .option('--page-token <token>', 'continue a previous listing')
    .action(async (opts: { prefix?: string; pageSize?: number; pageToken?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const page = await ctx.client.listDatasets({ name_prefix: opts.prefix, page_size: opts.pageSize, page_token: opts.pageToken });
      emit(ctx, page, () => {
        printTable(['name', 'version', 'uri', 'size', 'registered'], page.datasets.map((d) => [d.name, d.version, d.uri, d.size === null ? null : formatBytes(d.size), formatTime(d.created_at)]));
        notePage(page.next_page_token);
      });
    });
  dataset.command('show')
    .description('a dataset version, or every version of a name')
    .argument('<name[@version]>')
    .action(async (spec: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const at = spec.lastIndexOf('@');
      if (at > 0) {
        const d = await ctx.client.getDataset(spec.slice(0, at), spec.slice(at + 1));
        emit(ctx, d, () => printFields([['dataset', `${d.name}@${d.version}`], ['uri', d.uri], ['digest', d.digest], ['size', d.size === null ? null : formatBytes(d.size)],
          ['description', d.description], ['tags', formatMap(d.tags)], ['registered', `${formatTime(d.created_at)} by ${d.created_by}`]]));
        return;
      }
      const versions = await ctx.client.datasetVersions(spec);
      emit(ctx, { versions }, () => printTable(['version', 'uri', 'digest', 'registered'], versions.map((d) => [d.version, d.uri, d.digest, formatTime(d.created_at)])));
    });

  program.command('lineage')
    .description('what produced a version: datasets, code, run and parent versions')
    .argument('<model@ref>', 'e.g. fraud-scorer@3, fraud-scorer@production, fraud-scorer@champion')
    .option('--depth <n>', 'how many generations of parents to follow', (v: string) => Number(v), 5)
    .action(async (spec: string, opts: { depth: number }, cmd: Command) => {
      const ctx = await connect(cmd);
      const { model, version } = await versionOf(ctx.client, spec);
      const graph = await ctx.client.lineage(model, version, opts.depth);
      emit(ctx, graph, () => printTable(['from', 'relation', 'to'], graph.edges.map((e) => [e.from, e.kind, e.to])));
    });

  program.command('impact')
    .description('every version built on a dataset, a commit or a parent version, production first')
    .option('--dataset <name[@version]>', 'a dataset name (all its versions) or one version')
    .option('--commit <sha>', 'a code commit')
    .option('--parent <model@version>', 'a parent version: everything fine-tuned or distilled from it')
    .action(async (opts: { dataset?: string; commit?: string; parent?: string }, cmd: Command) => {
      if ([opts.dataset, opts.commit, opts.parent].filter((x) => x !== undefined).length !== 1) throw usageError('give exactly one of --dataset, --commit or --parent');
      const ctx = await connect(cmd);
      const impact = await ctx.client.impact(opts);
      emit(ctx, impact, () => {
        printTable(['model', 'version', 'stage', 'aliases', 'how'], impact.affected.map((a) => [a.model, a.version, a.stage, a.aliases.map((x) => `@${x}`).join(' '), a.direct ? 'direct' : 'through a parent']));
        process.stdout.write(`\n${impact.affected.length} version(s) affected, ${impact.in_production} in production\n`);
      });
    });

  program.command('inventory')
    .description('the model inventory: owners, risk tiers, validation dates, what is in production')
    .option('--risk-tier <tier>', 'low, medium, high or critical')
    .option('--overdue', 'only models whose validation is overdue')
    .option('--in-production', 'only models with a version in production')
    .option('--all', 'include archived models')
    .option('--csv <file>', 'write the whole inventory as CSV to a file (- for stdout)')
    .action(async (opts: { riskTier?: string; overdue?: boolean; inProduction?: boolean; all?: boolean; csv?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const query = { risk_tier: opts.riskTier, overdue: opts.overdue, in_production: opts.inProduction, include_archived: opts.all };
      if (opts.csv !== undefined) {
        const csv = await ctx.client.inventoryCsv(query);
        if (opts.csv === '-') process.stdout.write(csv);
        else {
          await writeFile(opts.csv, csv);
          process.stderr.write(`wrote ${csv.trimEnd().split('\n').length - 1} models to ${opts.csv}\n`);
        }
        return;
      }
      const page = await ctx.client.inventory({ ...query, page_size: 1000 });
      emit(ctx, page, () => {
        printTable(['model', 'owner', 'risk', 'validation', 'next due', 'production'], page.models.map((m) => [
          m.model, m.owner, m.risk_tier, m.validation_status, `${m.next_validation_due ?? ''}${m.validation_overdue ? ' OVERDUE' : ''}`,
          m.production_version === null ? null : `v${m.production_version} since ${formatTime(m.production_since)}`,
        ]));
        notePage(page.next_page_token);
      });
    });

  program.command('dossier')
    .description("a version's evidence dossier for auditors: card, metrics, lineage, approvals, history, audit trail")
    .argument('<model@ref>')
    .option('--format <format>', 'markdown, html or json', 'markdown')
    .option('--out <file>', 'where to write it (default: <model>-v<version>-dossier.<ext>)')
    .action(async (spec: string, opts: { format: string; out?: string }, cmd: Command) => {
      if (!['markdown', 'html', 'json'].includes(opts.format)) throw usageError('--format is markdown, html or json');
      const ctx = await connect(cmd);
      const { model, version } = await versionOf(ctx.client, spec);
      const text = opts.format === 'json'
        ? JSON.stringify(await ctx.client.dossier(model, version), null, 2) + '\n'
        : await ctx.client.dossierText(model, version, opts.format as 'markdown' | 'html');
      const ext = opts.format === 'markdown' ? 'md' : opts.format;
      const out = opts.out ?? `${model}-v${version}-dossier.${ext}`;
      if (out === '-') process.stdout.write(text);
      else {
        await writeFile(out, text).catch((err: NodeJS.ErrnoException) => { throw new CliError('WRITE_FAILED', `${out}: ${err.code ?? err.message}`); });
        process.stderr.write(`wrote the dossier of ${model} version ${version} to ${out}\n`);
      }
    });
}
