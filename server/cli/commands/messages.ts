import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { VoicegateError } from '../../domain/errors.ts';
import { callerLabel, type Message } from '../../domain/message.ts';
import { formatDuration, formatLocalTime } from '../../domain/time.ts';
import { print, printJson, printTable, withContext } from '../common.ts';

function stateLabel(m: Message): string {
  return m.state === 'deleted' ? `deleted (was ${m.deletedFrom})` : m.state;
}

export function registerMessages(program: Command): void {
  program
    .command('deposit <mailbox> <file>')
    .description('store a WAV file as a new voicemail')
    .option('--from <number>', 'caller number')
    .option('--name <name>', 'caller name')
    .option('--priority', 'high priority')
    .option('--private', 'private (cannot be forwarded)')
    .option('--recording', 'a call recording rather than a message')
    .action(
      async (
        ref: string,
        file: string,
        o: {
          from?: string;
          name?: string;
          priority?: boolean;
          private?: boolean;
          recording?: boolean;
        },
        cmd: Command,
      ) => {
        let audio: Buffer;
        try {
          audio = await readFile(file);
        } catch (err) {
          throw new VoicegateError(
            'INVALID_INPUT',
            `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          );
        }
        await withContext(cmd, async (ctx) => {
          const stored = await ctx.messages.deposit({
            mailbox: ref,
            audio,
            callerNumber: o.from,
            callerName: o.name,
            priority: o.priority ? 'high' : 'normal',
            private: o.private ?? false,
            kind: o.recording ? 'recording' : 'message',
            channel: 'cli',
          });
          if (stored.length === 0)
            print(
              ctx.loaded.config.server.role === 'distributed'
                ? `queued for ${ref} at the central (${ctx.loaded.config.topology.central?.name})`
                : `sent to ${ref} by e-mail (forward mode keeps no copy)`,
            );
          for (const m of stored) {
            const box = await ctx.store.getMailbox(m.mailboxId);
            print(
              `stored ${m.id} in ${box?.name ?? m.mailboxId} (${formatDuration(m.audio.durationMs)})`,
            );
          }
        });
      },
    );

  program
    .command('messages <mailbox>')
    .description('list the messages of a mailbox, times in its time zone')
    .addOption(
      new Option('--folder <folder>', 'which messages')
        .choices(['inbox', 'deleted', 'all'])
        .default('inbox'),
    )
    .option('--json', 'as JSON')
    .action(
      async (
        ref: string,
        o: { folder: 'inbox' | 'deleted' | 'all'; json?: boolean },
        cmd: Command,
      ) => {
        await withContext(cmd, async (ctx) => {
          const mailbox = await ctx.mailboxes.resolve(ref);
          const list =
            o.folder === 'all'
              ? [
                  ...(await ctx.messages.list(mailbox.id, 'inbox')),
                  ...(await ctx.messages.list(mailbox.id, 'deleted')),
                ]
              : await ctx.messages.list(mailbox.id, o.folder);
          if (o.json) return printJson(list);
          if (list.length === 0) return print(`no messages in ${mailbox.name} (${o.folder})`);
          printTable(
            ['ID', 'RECEIVED', 'FROM', 'LENGTH', 'STATE', 'FLAGS'],
            list.map((m) => [
              m.id,
              formatLocalTime(m.receivedAt, mailbox.timeZone),
              callerLabel(m),
              formatDuration(m.audio.durationMs),
              stateLabel(m),
              [
                m.priority === 'high' ? 'priority' : '',
                m.private ? 'private' : '',
                m.kind === 'recording' ? 'recording' : '',
              ]
                .filter(Boolean)
                .join(','),
            ]),
          );
        });
      },
    );

  const housekeeping = program
    .command('housekeeping')
    .description('delete and purge old messages by the configured rules');
  housekeeping
    .command('run')
    .description('run housekeeping once now')
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const result = await ctx.messages.runHousekeeping();
        if (o.json) return printJson(result);
        print(`deleted ${result.deleted}, purged ${result.purged}`);
      });
    });
}
