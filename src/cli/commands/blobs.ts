/** `modelgate gc` and `modelgate verify`: keeping the blob store honest. */
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../context.js';
import { emit, formatBytes, printFields, printTable } from '../output.js';

interface GcOptions {
  dryRun?: boolean;
  grace?: string;
}

/** Registers `gc` and `verify`. */
export function blobCommands(program: Command): void {
  program.command('gc')
    .description('remove blobs no version references, expired upload sessions and temporary files (admin)')
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--grace <duration>', 'leave blobs touched more recently than this alone, e.g. 10m, 1h (default: the server\'s --gc-grace)')
    .action(async (opts: GcOptions, cmd: Command) => {
      const grace = opts.grace === undefined ? undefined : durationSeconds(opts.grace);
      const ctx = await connect(cmd);
      const report = await ctx.client.collectGarbage({ dry_run: opts.dryRun, grace_seconds: grace });
      emit(ctx, report, () => printFields([
        [report.dry_run ? 'would remove' : 'removed', `${report.blobs_removed} blob(s), ${formatBytes(report.bytes_removed)}`],
        ['upload sessions expired', report.sessions_expired],
        ['session storage removed', report.session_storage_removed],
        ['temporary files removed', `${report.temp_files_removed} (${formatBytes(report.temp_bytes_removed)})`],
        ['unrecorded blobs', report.unrecorded_removed],
        ['grace', `${report.grace_seconds}s`],
      ]));
    });

  program.command('verify')
    .description('rehash stored blobs (all, or one model\'s) and report any missing or corrupt; exits 1 if any is')
    .option('--model <name>', 'only the blobs this model\'s versions use')
    .action(async (opts: { model?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const report = await ctx.client.verifyBlobs(opts.model);
      emit(ctx, report, () => {
        printFields([
          ['ok', report.ok ? 'yes' : 'NO'],
          ['scope', report.scope],
          ['blobs checked', report.blobs_checked],
          ['bytes checked', formatBytes(report.bytes_checked)],
        ]);
        if (report.problems.length > 0) {
          printTable(['problem', 'digest', 'used by'], report.problems.map((p) => [p.problem, p.digest, p.used_by.join(', ')]));
        }
      });
      if (!report.ok) throw new CliError('BLOBS_DAMAGED', `${report.problems.length} blob(s) missing or corrupt`);
    });
}

function durationSeconds(text: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new CliError('USAGE', `--grace must be a duration such as 0, 30s, 10m, 1h or 7d, got ${JSON.stringify(text)}`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] ?? 's']!;
}
