import type { Command } from 'commander';
import { VoicegateError } from '../../domain/errors.ts';
import { print, printJson, printTable, withContext } from '../common.ts';

function id(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new VoicegateError(
      'INVALID_INPUT',
      `"${text}" is not a queue id (see voicegate queue list)`,
    );
  return n;
}

export function registerQueue(program: Command): void {
  const queue = program
    .command('queue')
    .description('the delivery queue: voicemail e-mail and every other target');

  queue
    .command('list')
    .description('deliveries waiting, and those that failed for good (bounced)')
    .option('--target <target>', 'only this target (smtp, ews, graph, peer...)')
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean; target?: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const items = (await ctx.deliveries.list()).filter(
          (d) => o.target === undefined || d.target === o.target,
        );
        if (o.json) return printJson(items);
        if (items.length === 0) return print('the queue is empty');
        printTable(
          ['ID', 'TARGET', 'KIND', 'TO', 'STATUS', 'TRIES', 'NEXT TRY', 'LAST ERROR'],
          items.map((m) => [
            String(m.id),
            m.target,
            m.kind,
            m.recipient,
            m.status,
            String(m.attempts),
            m.status === 'pending'
              ? new Date(m.nextAttemptAt).toISOString().slice(0, 19) + 'Z'
              : '',
            m.lastError ?? '',
          ]),
        );
      });
    });

  queue
    .command('retry <id>')
    .description('try an item again now')
    .action(async (text: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.deliveries.retry(id(text));
        print(`mail ${text} will be tried again now`);
      });
    });

  queue
    .command('drop <id>')
    .description('remove an item from the queue (a pending forward is kept in the mailbox instead)')
    .action(async (text: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.deliveries.drop(id(text));
        print(`dropped mail ${text}`);
      });
    });
}
