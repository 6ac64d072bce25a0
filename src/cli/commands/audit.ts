/** `modelgate audit list|verify|export`. */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { CliError, apiErrorFrom } from '../cli-error.js';
import { connect } from '../context.js';
import { emit, formatTime, notePage, printFields, printTable } from '../output.js';
import { positiveInt } from '../parse.js';

interface ListOptions {
  resource?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  pageSize?: number;
  pageToken?: string;
}

/** Registers the `audit` command family. */
export function auditCommands(program: Command): void {
  const audit = program.command('audit').description('read, verify and export the tamper-evident audit log');

  audit.command('list')
    .description('list audit entries, newest first')
    .option('--resource <path>', 'a resource such as models/fraud-scorer (includes everything under it)')
    .option('--actor <username>', 'only changes by this user')
    .option('--action <action>', 'e.g. version.created, or version.* for a family')
    .option('--since <time>', 'only entries at or after this ISO-8601 time')
    .option('--until <time>', 'only entries before this ISO-8601 time')
    .option('--page-size <n>', 'entries per page', positiveInt)
    .option('--page-token <token>', 'continue from a previous page')
    .action(async (opts: ListOptions, cmd: Command) => {
      const ctx = await connect(cmd);
      const page = await ctx.client.listAudit({
        resource: opts.resource, actor: opts.actor, action: opts.action, since: opts.since, until: opts.until,
        page_size: opts.pageSize, page_token: opts.pageToken,
      });
      emit(ctx, page, () => {
        printTable(['seq', 'time', 'actor', 'action', 'resource'], page.entries.map((e) => [e.seq, formatTime(e.time), e.actor, e.action, e.resource]));
        notePage(page.next_page_token);
      });
    });

  audit.command('verify')
    .description('recompute the hash chain; exits 1 if any entry was altered, removed or reordered')
    .action(async (_opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const result = await ctx.client.verifyAudit();
      emit(ctx, result, () => printFields([
        ['ok', result.ok ? 'yes' : 'NO'],
        ['entries', result.entries],
        ['head hash', result.head_hash],
        ...(result.ok ? [] : [['first bad seq', result.first_bad_seq] as [string, number | null], ['problem', result.problem] as [string, string | null]]),
      ]));
      if (!result.ok) {
        throw new CliError('AUDIT_CHAIN_BROKEN', `entry ${result.first_bad_seq ?? '?'}: ${result.problem ?? 'the chain does not verify'}`);
      }
    });

  audit.command('export')
    .description('write the whole chain as JSON Lines, oldest first (streamed)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (opts: { out?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const response = await ctx.client.openAuditExport();
      if (!response.ok || !response.body) throw await apiErrorFrom(response);
      let lines = 0;
      const counted = async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          for (const byte of chunk) if (byte === 0x0a) lines++;
          yield chunk;
        }
      };
      const body = response.body as unknown as AsyncIterable<Uint8Array>;
      if (opts.out === undefined) {
        await pipeline(body, counted, stdoutKeptOpen());
        return;
      }
      // A temporary name, renamed when complete, so a broken export never looks like a whole one.
      const temp = `${opts.out}.partial`;
      try {
        await pipeline(body, counted, createWriteStream(temp));
        await rename(temp, opts.out);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      process.stderr.write(`exported ${lines} entries to ${opts.out}\n`);
    });
}

/** A writable over stdout that pipeline may end without closing stdout itself. */
function stdoutKeptOpen(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (process.stdout.write(chunk)) callback();
      else process.stdout.once('drain', () => callback());
    },
  });
}
