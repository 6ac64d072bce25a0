/** `modelgate demo`: seed an empty registry with a story worth looking at in the web UI. */
import type { Command } from 'commander';
import { connect } from '../context.js';
import { seedDemo } from '../demo-story.js';
import { emit, printTable } from '../output.js';

export function demoCommands(program: Command): void {
  program.command('demo')
    .description('seed an empty registry with demo models, versions, approvals, a rejection and a rollback (needs an admin login)')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await connect(cmd);
      const result = await seedDemo(ctx.client, ctx.server);
      emit(ctx, result, () => {
        for (const step of result.steps) console.log(`- ${step}`);
        console.log(`\nOpen ${ctx.server}/ and sign in with one of these tokens (shown once):`);
        printTable(['user', 'role', 'token'], result.users.map((u) => [u.username, u.role, u.token]));
      });
    });
}
