/** `modelgate model create|list|show|update|rename|archive`. */
import { Option, type Command } from 'commander';
import type { InventoryFields, Model, RiskTier, UpdateModel } from '../../sdk/client.js';
import { usageError } from '../cli-error.js';
import { connect } from '../context.js';
import { emit, formatMap, formatTime, notePage, printFields, printTable, truncate } from '../output.js';
import { keyValue, positiveInt, repeatable } from '../parse.js';

const RISK_TIERS = ['low', 'medium', 'high', 'critical'];

interface ModelOptions {
  description?: string;
  tag?: Record<string, string>;
  untag?: string[];
  owner?: string;
  intendedUse?: string;
  restrictions?: string;
  riskTier?: string;
  responsible?: string[];
  validationStatus?: InventoryFields['validation_status'];
  lastValidated?: string;
  nextValidationDue?: string;
  validityPeriod?: string;
  policyException?: string[];
}

/** The inventory options as API fields; `none` clears a date or period. */
function inventory(opts: ModelOptions): InventoryFields {
  const clear = (v: string | undefined) => (v === 'none' ? null : v);
  return {
    responsible: opts.responsible, validation_status: opts.validationStatus, last_validated_at: clear(opts.lastValidated),
    next_validation_due: clear(opts.nextValidationDue), validity_period: clear(opts.validityPeriod),
    policy_exceptions: opts.policyException?.map((description) => ({ description })),
  };
}

interface ListOptions {
  prefix?: string;
  tag?: string[];
  sort?: 'name' | 'created_at' | 'updated_at';
  order?: 'asc' | 'desc';
  all?: boolean;
  pageSize?: number;
  pageToken?: string;
}

/** Registers the `model` command family. */
export function modelCommands(program: Command): void {
  const model = program.command('model').description('register, list and edit models');

  withModelFields(model.command('create').argument('<name>', 'model name (A-Z a-z 0-9 . _ -)'), false)
    .description('register a model')
    .action(async (name: string, opts: ModelOptions, cmd: Command) => {
      const ctx = await connect(cmd);
      const created = await ctx.client.createModel({
        name, description: opts.description, tags: opts.tag, owner: opts.owner, intended_use: opts.intendedUse,
        restrictions: opts.restrictions, risk_tier: opts.riskTier as RiskTier | undefined, ...inventory(opts),
      });
      emit(ctx, created, () => printModel(created));
    });

  model.command('list')
    .description('list models')
    .option('--prefix <prefix>', 'only names starting with this')
    .option('--tag <key[=value]>', 'only models with this tag (and value); repeatable', repeatable)
    .addOption(new Option('--sort <field>', 'sort by').choices(['name', 'created_at', 'updated_at']))
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']))
    .option('--all', 'include archived models')
    .option('--page-size <n>', 'models per page (server default 50)', positiveInt)
    .option('--page-token <token>', 'continue from a previous page')
    .action(async (opts: ListOptions, cmd: Command) => {
      const ctx = await connect(cmd);
      const page = await ctx.client.listModels({
        name_prefix: opts.prefix, tag: opts.tag, sort: opts.sort, order: opts.order, include_archived: opts.all,
        page_size: opts.pageSize, page_token: opts.pageToken,
      });
      emit(ctx, page, () => {
        printTable(['name', 'owner', 'risk', 'tags', 'updated', 'description'], page.models.map((m) => [
          m.archived ? `${m.name} (archived)` : m.name, m.owner, m.risk_tier, formatMap(m.tags),
          formatTime(m.updated_at), truncate(m.description, 50),
        ]));
        notePage(page.next_page_token);
      });
    });

  model.command('show')
    .description('show a model (by its name or a former name)')
    .argument('<name>')
    .action(async (name: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const found = await ctx.client.getModel(name);
      emit(ctx, found, () => printModel(found));
    });

  withModelFields(model.command('update').argument('<name>'), true)
    .description("edit a model's description, tags, owner and governance fields")
    .option('--untag <key>', 'remove a tag; repeatable', repeatable)
    .action(async (name: string, opts: ModelOptions, cmd: Command) => {
      const body: UpdateModel = {
        description: opts.description, owner: opts.owner, intended_use: opts.intendedUse, restrictions: opts.restrictions,
        risk_tier: opts.riskTier === undefined ? undefined : opts.riskTier === 'none' ? null : (opts.riskTier as RiskTier),
        tags: tagPatch(opts.tag, opts.untag), ...inventory(opts),
      };
      if (Object.values(body).every((v) => v === undefined)) throw usageError('nothing to change: give at least one option (see --help)');
      const ctx = await connect(cmd);
      const updated = await ctx.client.updateModel(name, body);
      emit(ctx, updated, () => printModel(updated));
    });

  model.command('rename')
    .description('rename a model; the old name keeps resolving')
    .argument('<name>').argument('<new-name>')
    .action(async (name: string, newName: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const renamed = await ctx.client.renameModel(name, newName);
      emit(ctx, renamed, () => process.stdout.write(`renamed ${name} to ${renamed.name} (${name} still resolves to it)\n`));
    });

  model.command('archive')
    .description('archive a model: it stays readable but takes no more changes')
    .argument('<name>')
    .action(async (name: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const archived = await ctx.client.archiveModel(name);
      emit(ctx, archived, () => process.stdout.write(`archived ${archived.name}\n`));
    });
}

/** The fields create and update share; update also accepts `none` to clear the risk tier. */
function withModelFields(cmd: Command, update: boolean): Command {
  return cmd
    .option('--description <text>', 'what the model does')
    .option('--tag <key=value>', update ? 'set a tag; repeatable' : 'a tag; repeatable', keyValue)
    .option('--owner <username>', 'the accountable owner (default: you)')
    .option('--intended-use <text>', 'what the model is meant to be used for')
    .option('--restrictions <text>', 'what it must not be used for')
    .addOption(new Option('--risk-tier <tier>', 'risk classification').choices(update ? [...RISK_TIERS, 'none'] : RISK_TIERS))
    .option('--responsible <person>', 'someone answerable for the model besides its owner; repeatable (replaces the list)', repeatable)
    .addOption(new Option('--validation-status <status>', 'where independent validation stands')
      .choices(['not_validated', 'in_progress', 'validated', 'conditionally_validated']))
    .option('--last-validated <YYYY-MM-DD>', 'when it was last validated')
    .option('--next-validation-due <YYYY-MM-DD>', 'when it must be validated again')
    .option('--validity-period <duration>', 'how long a validation holds, e.g. P1Y')
    .option('--policy-exception <text>', 'a policy exception granted to the model; repeatable (replaces the list)', repeatable);
}

/** Merges `--tag k=v` and `--untag k` into the API's tag patch (null removes a tag). */
export function tagPatch(set: Record<string, string> | undefined, unset: string[] | undefined): Record<string, string | null> | undefined {
  if (!set && !unset) return undefined;
  const patch: Record<string, string | null> = { ...set };
  for (const key of unset ?? []) {
    if (key in patch) throw usageError(`tag ${key} is both set and removed`);
    patch[key] = null;
  }
  return patch;
}

function printModel(model: Model): void {
  printFields([
    ['name', model.name],
    ['description', model.description],
    ['owner', model.owner],
    ['risk tier', model.risk_tier],
    ['intended use', model.intended_use],
    ['restrictions', model.restrictions],
    ['responsible', model.responsible.join(', ')],
    ['validation', `${model.validation_status}${model.last_validated_at ? `, last ${model.last_validated_at}` : ''}${model.next_validation_due ? `, next due ${model.next_validation_due}` : ''}${model.validity_period ? `, valid for ${model.validity_period}` : ''}`],
    ['exceptions', model.policy_exceptions.map((e) => e.description).join('\n')],
    ['tags', formatMap(model.tags)],
    ['archived', model.archived ? 'yes' : 'no'],
    ['former names', model.former_names.join(', ')],
    ['created', `${formatTime(model.created_at)} by ${model.created_by}`],
    ['updated', formatTime(model.updated_at)],
  ]);
}
