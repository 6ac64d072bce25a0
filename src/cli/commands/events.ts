/** `modelgate webhook add|list|rm|deliveries|redeliver|test` and `modelgate events`. */
import type { Command } from 'commander';
import type { CloudEvent } from '../../sdk/client.js';
import { connect } from '../context.js';
import { emit, formatTime, notePage, printFields, printJson, printTable, truncate } from '../output.js';
import { positiveInt } from '../parse.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Registers the webhook and event-stream commands. */
export function eventCommands(program: Command): void {
  const webhook = program.command('webhook').description('subscribe URLs to registry events (signed, retried, logged)');
  webhook.command('add')
    .description('subscribe a URL; prints the signing secret once')
    .argument('<url>')
    .requiredOption('--event <pattern>', 'an event type or family, e.g. promotion.* or *; repeatable', collect)
    .option('--model <name>', "only this model's events")
    .option('--secret <whsec_...>', 'the signing secret (default: a new random one)')
    .option('--inactive', 'create it paused')
    .action(async (url: string, opts: { event: string[]; model?: string; secret?: string; inactive?: boolean }, cmd: Command) => {
      const ctx = await connect(cmd);
      const created = await ctx.client.createWebhook({ url, events: opts.event, model: opts.model, secret: opts.secret, active: !opts.inactive });
      emit(ctx, created, () => {
        printFields([['webhook', created.id], ['url', created.url], ['events', created.events.join(' ')], ['model', created.model], ['secret', created.secret]]);
        process.stderr.write('warning: the secret is shown only once; receivers verify webhook-signature with it\n');
      });
    });
  webhook.command('list')
    .description('list webhooks')
    .action(async (_opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const webhooks = await ctx.client.listWebhooks();
      emit(ctx, { webhooks }, () => printTable(['id', 'url', 'events', 'model', 'active', 'created by'],
        webhooks.map((w) => [w.id, w.url, w.events.join(' '), w.model, w.active ? 'yes' : 'no', w.created_by])));
    });
  webhook.command('rm')
    .description('delete a webhook and its delivery log')
    .argument('<id>')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      await ctx.client.deleteWebhook(id);
      emit(ctx, { id, deleted: true }, () => process.stdout.write(`deleted webhook ${id}\n`));
    });
  webhook.command('deliveries')
    .description('deliveries of a webhook, newest first, with their attempts')
    .argument('<id>')
    .option('--status <status>', 'pending, delivered or failed')
    .option('--page-size <n>', 'how many', positiveInt)
    .option('--page-token <token>', 'continue a previous listing')
    .action(async (id: string, opts: { status?: 'pending' | 'delivered' | 'failed'; pageSize?: number; pageToken?: string }, cmd: Command) => {
      const ctx = await connect(cmd);
      const page = await ctx.client.listDeliveries(id, { status: opts.status, page_size: opts.pageSize, page_token: opts.pageToken });
      emit(ctx, page, () => {
        printTable(['delivery', 'event', 'seq', 'model', 'status', 'attempts', 'last', 'when', 'error'], page.deliveries.map((d) => [
          d.id, d.event_type, d.sequence, d.subject, d.status, d.attempts, d.last_status,
          formatTime(d.delivered_at ?? d.attempt_log[d.attempt_log.length - 1]?.at ?? d.created_at), truncate(d.last_error ?? '', 40),
        ]));
        notePage(page.next_page_token);
      });
    });
  webhook.command('redeliver')
    .description('send failed deliveries again: one, or all of the webhook\'s')
    .argument('<id>').argument('[delivery-id]')
    .action(async (id: string, deliveryId: string | undefined, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const result = await ctx.client.redeliver(id, deliveryId);
      emit(ctx, result, () => process.stdout.write(`queued ${result.requeued} delivery(ies) again\n`));
    });
  webhook.command('test')
    .description('send a webhook.test event to the webhook')
    .argument('<id>')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const ctx = await connect(cmd);
      const result = await ctx.client.testWebhook(id);
      emit(ctx, result, () => process.stdout.write(`queued test event ${result.event_id}; see: modelgate webhook deliveries ${id}\n`));
    });

  program.command('events')
    .description('registry events as CloudEvents; --follow streams them live')
    .option('--after <seq>', 'start after this event sequence number', (v: string) => Number(v))
    .option('--follow', 'keep streaming new events (resumes from --after)')
    .option('--limit <n>', 'how many (without --follow)', positiveInt)
    .action(async (opts: { after?: number; follow?: boolean; limit?: number }, cmd: Command) => {
      const ctx = await connect(cmd);
      const print = (e: CloudEvent) => (ctx.json ? process.stdout.write(JSON.stringify(e) + '\n') : printLine(e));
      if (!opts.follow) {
        const page = await ctx.client.listEvents({ after: opts.after ?? 0, limit: opts.limit });
        if (ctx.json) printJson(page);
        else page.events.forEach(print);
        return;
      }
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      for await (const event of ctx.client.streamEvents({ after: opts.after, signal: controller.signal })) print(event);
    });
}

function printLine(e: CloudEvent): void {
  const actor = typeof e.data.actor === 'string' ? e.data.actor : '';
  process.stdout.write(`${String(e.sequence).padStart(6)}  ${formatTime(e.time)}  ${e.type.padEnd(22)}  ${(e.subject ?? '-').padEnd(20)}  ${actor}\n`);
}
