/** `modelgate version create|list|show|update|delete`. */
import { Option, type Command } from 'commander';
import type { CreateVersion, Lineage, Stage, Version } from '../../sdk/client.js';
import { CliError, usageError } from '../cli-error.js';
import { connect } from '../context.js';
import { readJson, readText } from '../local-input.js';
import { emit, formatBytes, formatMap, formatTime, notePage, printFields, printTable } from '../output.js';
import { keyValue, metric, positiveInt, repeatable } from '../parse.js';
import { collectFiles, uploadFiles } from '../upload.js';
import { tagPatch } from './models.js';

const STAGES = ['development', 'staging', 'production', 'archived'];

interface ListOptions {
  stage?: Stage;
  tag?: string[];
  filter?: string[];
  createdAfter?: string;
  order?: 'asc' | 'desc';
  pageSize?: number;
  pageToken?: string;
}

interface UpdateOptions {
  description?: string;
  tag?: Record<string, string>;
  untag?: string[];
  modelCard?: string;
}

interface CreateOptions {
  metric?: Record<string, number>;
  param?: Record<string, string>;
  tag?: Record<string, string>;
  description?: string;
  modelCard?: string;
  signature?: string;
  lineage?: string;
  sourceUri?: string;
  digest?: string;
  dir?: string[];
}

/** Registers the `version` command family. */
export function versionCommands(program: Command): void {
  const version = program.command('version').description('register, list and edit versions of a model');

  version.command('create')
    .description('upload files (or point at an external source) and register them as a new version')
    .argument('<model>')
    .argument('[paths...]', 'files, or directories uploaded recursively with paths relative to them')
    .option('--metric <name=number>', 'an evaluation metric; repeatable', metric)
    .option('--param <key=value>', 'a training parameter; repeatable', keyValue)
    .option('--tag <key=value>', 'a tag; repeatable', keyValue)
    .option('--description <text>', 'what changed in this version')
    .option('--model-card <file.md>', 'the model card, as Markdown')
    .option('--signature <file.json>', 'the input/output signature, as JSON')
    .option('--lineage <file.json>', 'lineage: {datasets, code, run, parents}')
    .option('--dir <directory>', 'a directory to upload, files named relative to it (same as giving it as a path); repeatable', repeatable)
    .option('--source-uri <uri>', 'register bytes stored elsewhere instead of uploading paths')
    .option('--digest <sha256:hex>', 'the digest of the bytes at --source-uri')
    .action(async (model: string, given: string[], opts: CreateOptions, cmd: Command) => {
      const paths = [...given, ...(opts.dir ?? [])];
      if (paths.length > 0 && opts.sourceUri !== undefined) throw usageError('give paths or --source-uri, not both');
      if (paths.length === 0 && opts.sourceUri === undefined) throw usageError('give the paths to upload, or --source-uri with --digest');
      if (opts.sourceUri !== undefined && opts.digest === undefined) throw usageError('--source-uri needs --digest sha256:<hex>');
      if (opts.digest !== undefined && opts.sourceUri === undefined) {
        throw usageError('--digest only goes with --source-uri; uploaded files are hashed locally');
      }
      // Read every local input before uploading, so a typo fails in a second, not after the upload.
      const body: CreateVersion = {
        metrics: opts.metric, params: opts.param, tags: opts.tag, description: opts.description,
        model_card: opts.modelCard === undefined ? undefined : await readText(opts.modelCard, '--model-card'),
        signature: opts.signature === undefined ? undefined : await readJson(opts.signature, '--signature'),
        lineage: opts.lineage === undefined ? undefined : ((await readJson(opts.lineage, '--lineage', true)) as Partial<Lineage>),
      };
      const files = paths.length > 0 ? await collectFiles(paths) : [];
      const ctx = await connect(cmd);
      // Fail before moving gigabytes if the model is missing or archived; the server re-checks.
      const target = await ctx.client.getModel(model);
      if (target.archived) throw new CliError('MODEL_ARCHIVED', `model ${JSON.stringify(target.name)} is archived and takes no changes`);
      if (opts.sourceUri !== undefined) Object.assign(body, { source_uri: opts.sourceUri, digest: opts.digest });
      else body.files = await uploadFiles(ctx.client, files);
      const created = await ctx.client.createVersion(model, body);
      emit(ctx, created, () => printVersion(created, false));
    });

  version.command('list')
    .description('list versions of a model, newest first')
    .argument('<model>')
    .addOption(new Option('--stage <stage>', 'only versions in this stage').choices(STAGES))
    .option('--tag <key[=value]>', 'only versions with this tag (and value); repeatable', repeatable)
    .option('--filter <condition>', "a metric condition such as 'metrics.auc >= 0.9'; repeatable", repeatable)
    .option('--created-after <time>', 'only versions created after this ISO-8601 time')
    .addOption(new Option('--order <order>', 'by version number').choices(['asc', 'desc']))
    .option('--page-size <n>', 'versions per page (server default 50)', positiveInt)
    .option('--page-token <token>', 'continue from a previous page')
    .action(async (model: string, opts: ListOptions, cmd: Command) => {
      const ctx = await connect(cmd);
      const page = await ctx.client.listVersions(model, {
        stage: opts.stage, tag: opts.tag, filter: opts.filter, created_after: opts.createdAfter, order: opts.order,
        page_size: opts.pageSize, page_token: opts.pageToken,
      });
      emit(ctx, page, () => {
        printTable(['version', 'stage', 'aliases', 'metrics', 'created', 'by', 'digest'], page.versions.map((v) => [
          v.version, v.stage, v.aliases.map((a) => `@${a}`).join(' '), formatMap(v.metrics),
          formatTime(v.created_at), v.created_by, shortDigest(v.digest),
        ]));
        notePage(page.next_page_token);
      });
    });

  version.command('show')
    .description('show one version, its files, metrics and lineage')
    .argument('<model>').argument('<version>', 'version number', positiveInt)
    .action(async (model: string, number: number, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const found = await ctx.client.getVersion(model, number);
      emit(ctx, found, () => printVersion(found, true));
    });

  version.command('update')
    .description("edit a version's description, tags or model card (its files never change)")
    .argument('<model>').argument('<version>', 'version number', positiveInt)
    .option('--description <text>', 'new description')
    .option('--tag <key=value>', 'set a tag; repeatable', keyValue)
    .option('--untag <key>', 'remove a tag; repeatable', repeatable)
    .option('--model-card <file.md>', 'replace the model card')
    .action(async (model: string, number: number, opts: UpdateOptions, cmd: Command) => {
      const tags = tagPatch(opts.tag, opts.untag);
      if (opts.description === undefined && tags === undefined && opts.modelCard === undefined) {
        throw usageError('nothing to change: give --description, --tag, --untag or --model-card');
      }
      const modelCard = opts.modelCard === undefined ? undefined : await readText(opts.modelCard, '--model-card');
      const ctx = await connect(cmd);
      const updated = await ctx.client.updateVersion(model, number, { description: opts.description, tags, model_card: modelCard });
      emit(ctx, updated, () => printVersion(updated, false));
    });

  version.command('delete')
    .description('delete a version that never left development')
    .argument('<model>').argument('<version>', 'version number', positiveInt)
    .action(async (model: string, number: number, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      await ctx.client.deleteVersion(model, number);
      // The API answers 204 with no body; scripts get an object to parse all the same.
      emit(ctx, { model, version: number, deleted: true }, () => process.stdout.write(`deleted version ${number} of ${model}\n`));
    });
}

/** `sha256:0123456789ab…`: enough to tell versions apart in a table. */
export function shortDigest(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}

function printVersion(v: Version, full: boolean): void {
  const total = v.files.reduce((sum, f) => sum + f.size, 0);
  const lineage = [
    v.lineage.datasets.map((d) => `dataset ${d.name}@${d.version} (${d.role})`).join('\n'),
    v.lineage.code ? `code ${v.lineage.code.repo}@${v.lineage.code.commit}${v.lineage.code.path ? ` (${v.lineage.code.path})` : ''}` : '',
    v.lineage.run ? `run ${v.lineage.run.id}${v.lineage.run.url ? ` ${v.lineage.run.url}` : ''}` : '',
    v.lineage.parents.map((p) => `parent ${p.model} v${p.version}`).join('\n'),
  ].filter(Boolean).join('\n');
  printFields([
    ['model', v.model],
    ['version', v.version],
    ['stage', v.stage],
    ['status', v.status],
    ['aliases', v.aliases.map((a) => `@${a}`).join(' ')],
    ['digest', v.digest],
    [v.source_uri ? 'source' : 'files', v.source_uri ?? `${v.files.length} (${formatBytes(total)})`],
    ['description', v.description],
    ['metrics', formatMap(v.metrics)],
    ['params', formatMap(v.params)],
    ['tags', formatMap(v.tags)],
    ...(full ? [['lineage', lineage] as [string, string], ['signature', v.signature === null ? '' : JSON.stringify(v.signature)] as [string, string]] : []),
    ['model card', v.model_card === null ? 'none' : full ? 'below' : `${formatBytes(Buffer.byteLength(v.model_card))}`],
    ['created', `${formatTime(v.created_at)} by ${v.created_by}`],
  ]);
  if (full && v.files.length > 0) {
    process.stdout.write('\n');
    printTable(['path', 'size', 'digest'], v.files.map((f) => [f.path, formatBytes(f.size), f.digest]));
  }
  if (full && v.model_card !== null) process.stdout.write(`\n--- model card ---\n${v.model_card.replace(/\n?$/, '\n')}`);
}
