/** `modelgate user add|list` and `token create|list|revoke`. */
import { Option, type Command } from 'commander';
import type { Role, Token } from '../../sdk/client.js';
import { connect } from '../context.js';
import { emit, formatTime, printFields, printTable } from '../output.js';

const ROLES = ['viewer', 'contributor', 'approver', 'admin'];

/** Registers the `user` and `token` command families. */
export function identityCommands(program: Command): void {
  const user = program.command('user').description('manage users (admins)');
  user.command('add')
    .description('create a user')
    .argument('<username>')
    .addOption(new Option('--role <role>', 'what the user may do').choices(ROLES).makeOptionMandatory())
    .action(async (username: string, opts: { role: Role }, cmd: Command) => {
      const ctx = await connect(cmd);
      const created = await ctx.client.createUser({ username, role: opts.role });
      emit(ctx, created, () => process.stdout.write(`created user ${created.username} (role ${created.role}); ` +
        `give them a token with: modelgate token create --user ${created.username} --name <name>\n`));
    });
  user.command('update')
    .description("change a user's role or approver groups")
    .argument('<username>')
    .addOption(new Option('--role <role>', 'the new role').choices(ROLES))
    .option('--group <name>', 'an approver group the user belongs to; repeatable; replaces the list', (v: string, acc: string[] = []) => [...acc, v])
    .option('--no-groups', 'remove the user from every group')
    .action(async (username: string, opts: { role?: Role; group?: string[]; groups?: boolean }, cmd: Command) => {
      const ctx = await connect(cmd);
      const groups = opts.groups === false ? [] : opts.group;
      const updated = await ctx.client.updateUser(username, { role: opts.role, groups });
      emit(ctx, updated, () => process.stdout.write(`${updated.username}: role ${updated.role}, groups ${updated.groups.join(', ') || '-'}\n`));
    });
  user.command('list')
    .description('list users')
    .action(async (_opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const users = await ctx.client.listUsers();
      emit(ctx, { users }, () => printTable(['user', 'role', 'groups', 'created', 'by'], users.map((u) => [u.username, u.role, u.groups.join(', '), formatTime(u.created_at), u.created_by])));
    });

  const token = program.command('token').description('manage API tokens');
  token.command('create')
    .description('create a token; its secret is shown once')
    .option('--user <username>', 'whose token (admins only; default: you)')
    .requiredOption('--name <name>', 'what the token is for, e.g. ci-pipeline')
    .action(async (opts: { user?: string; name: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const created = await ctx.client.createToken({ name: opts.name, username: opts.user });
      emit(ctx, created, () => printFields([
        ['token', created.token],
        ['id', created.id],
        ['user', created.username],
        ['name', created.name],
      ]));
      // On stderr, so `--json | jq -r .token` and `$(...)` capture only the token data.
      process.stderr.write('warning: this token is shown only once; store it now (the server keeps only its hash)\n');
    });
  token.command('list')
    .description('list tokens (your own; admins: everyone\'s, or one user\'s)')
    .option('--user <username>', "only this user's tokens")
    .action(async (opts: { user?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const tokens = await ctx.client.listTokens(opts.user);
      emit(ctx, { tokens }, () => printTokens(tokens));
    });
  token.command('revoke')
    .description('revoke a token; it stops working at once')
    .argument('<id>')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const revoked = await ctx.client.revokeToken(id);
      emit(ctx, revoked, () => process.stdout.write(`revoked token ${revoked.id} (${revoked.name}) of ${revoked.username}\n`));
    });
}

function printTokens(tokens: Token[]): void {
  printTable(['id', 'user', 'name', 'prefix', 'created', 'revoked'], tokens.map((t) => [
    t.id, t.username, t.name, t.prefix, formatTime(t.created_at), formatTime(t.revoked_at),
  ]));
}
