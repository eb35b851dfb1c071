import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../domain/audit.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { oneOf, GREETING_KINDS, type GreetingKind } from '../../domain/mailbox.ts';
import { toTelephoneWav } from '../../media/convert.ts';
import { hasCommand } from '../../tools.ts';
import { print, printJson, printTable, withContext } from '../common.ts';

/** The type a file's name suggests, as a browser would send it with an upload. */
const TYPES: Record<string, string> = {
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
  '.aif': 'audio/aiff',
  '.aiff': 'audio/aiff',
  '.webm': 'audio/webm',
};

const kindOf = (text: string): GreetingKind => oneOf(GREETING_KINDS, text, 'greeting');

/** A mailbox's greetings, as the admin area shows them: list, listen (save to a file), set, remove. */
export function registerGreeting(program: Command): void {
  const greeting = program
    .command('greeting')
    .description("a mailbox's greetings (unavailable, busy, temporary, name)");

  greeting
    .command('list <mailbox>')
    .description('the greetings recorded, and which one callers hear')
    .option('--json', 'as JSON')
    .action(async (ref: string, o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const m = await ctx.mailboxes.resolve(ref);
        const list = (await ctx.messages.greetings(m)).map((g) => ({
          kind: g.kind,
          durationMs: g.audio.durationMs,
          updatedAt: new Date(g.updatedAt).toISOString(),
        }));
        if (o.json) return printJson({ active: m.activeGreeting, greetings: list });
        print(`callers hear: ${m.activeGreeting}`);
        printTable(
          ['GREETING', 'SECONDS', 'RECORDED'],
          list.map((g) => [g.kind, (g.durationMs / 1000).toFixed(1), g.updatedAt]),
        );
      });
    });

  greeting
    .command('get <mailbox> <kind> <file>')
    .description('save a greeting as a WAV file (to listen to it)')
    .action(async (ref: string, kind: string, file: string, _o: unknown, cmd: Command) => {
      const k = kindOf(kind);
      await withContext(cmd, async (ctx) => {
        const found = (await ctx.messages.greetings(ref)).find((g) => g.kind === k);
        if (!found) throw new VoicegateError('NOT_FOUND', `${ref} has no ${k} greeting`);
        await writeFile(file, await ctx.audio.read(found.audio.key));
        print(`${file}: the ${k} greeting of ${ref}`);
      });
    });

  greeting
    .command('set <mailbox> <kind> <file>')
    .description('record a greeting from an audio file (WAV, Ogg, FLAC, MP3, AIFF, WebM)')
    .action(async (ref: string, kind: string, file: string, _o: unknown, cmd: Command) => {
      const k = kindOf(kind);
      const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      const wav = await toTelephoneWav(await readFile(file), type, {
        ffmpeg: hasCommand('ffmpeg'),
        sox: hasCommand('sox'),
      });
      await withContext(cmd, async (ctx) => {
        const g = await ctx.mailboxSettings.setGreeting(ref, k, Buffer.from(wav), CLI_ACTOR);
        print(`${ref}: ${k} greeting recorded (${(g.audio.durationMs / 1000).toFixed(1)} s)`);
      });
    });

  greeting
    .command('remove <mailbox> <kind>')
    .description('remove a greeting')
    .action(async (ref: string, kind: string, _o: unknown, cmd: Command) => {
      const k = kindOf(kind);
      await withContext(cmd, async (ctx) => {
        await ctx.mailboxSettings.removeGreeting(ref, k, CLI_ACTOR);
        print(`${ref}: ${k} greeting removed`);
      });
    });
}
