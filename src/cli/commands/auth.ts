/** `modelgate login` and `modelgate whoami`. */
import type { Command } from 'commander';
import { usageError } from '../cli-error.js';
import { configPath, normaliseServer, writeConfig } from '../config.js';
import { connect, globalOptions, newClient } from '../context.js';
import { emit, formatTime, printFields } from '../output.js';
import { readToken } from '../prompt.js';

/** Registers `login` and `whoami`. */
export function authCommands(program: Command): void {
  program.command('login')
    .description('check a token against a server, then store both for later commands')
    .addHelpText('after', '\nThe token is read from --token, MODELGATE_TOKEN, stdin (piped), or a hidden prompt.\n' +
      `It is stored with the server URL in ${configPath()} (mode 0600).`)
    .action(async (_opts: object, cmd: Command) => {
      const opts = globalOptions(cmd);
      const raw = opts.server || process.env.MODELGATE_URL;
      if (!raw) throw usageError('login needs --server <url> (or MODELGATE_URL)');
      const server = normaliseServer(raw);
      const token = opts.token || process.env.MODELGATE_TOKEN || (await readToken());
      // Store nothing until the server has accepted the token.
      const user = await newClient(server, token).whoami();
      const path = configPath();
      await writeConfig(path, { server, token });
      emit({ json: opts.json === true }, user, () => {
        process.stdout.write(`logged in to ${server} as ${user.username} (role ${user.role})\n`);
        process.stderr.write(`saved to ${path}\n`);
      });
    });

  program.command('whoami')
    .description('show the user behind the current token')
    .action(async (_opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const user = await ctx.client.whoami();
      emit(ctx, user, () => printFields([
        ['user', user.username],
        ['role', user.role],
        ['server', ctx.server],
        ['created', `${formatTime(user.created_at)} by ${user.created_by}`],
      ]));
    });
}
