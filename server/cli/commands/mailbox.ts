import { InvalidArgumentError, Option, type Command } from 'commander';
import { VoicegateError } from '../../domain/errors.ts';
import {
  emailModeOf,
  EMAIL_MODES,
  type Mailbox,
  type MailboxChanges,
} from '../../domain/mailbox.ts';
import type { MailboxHomeChange } from '../../domain/exchange.ts';
import { describeEmailReading, parseReadEmail } from '../../domain/email-reading.ts';
import { collect, print, printJson, printTable, withContext } from '../common.ts';
import { CLI_ACTOR } from '../../domain/audit.ts';
import { readCode, warnCodeArgument } from '../read-code.ts';
import { moveExisting } from './mailbox-move.ts';

function mailboxRow(m: Mailbox): string[] {
  return [
    m.name,
    m.extension ?? '',
    m.kind,
    m.fullName,
    m.email ?? '',
    m.emailMode,
    m.timeZone,
    m.umsAccess ? 'yes' : 'no',
  ];
}

function parseBreakouts(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const [key, number] = v.split('=');
    if (!key || number === undefined)
      throw new VoicegateError(
        'INVALID_INPUT',
        `--breakout "${v}": expected KEY=NUMBER, e.g. 0=200`,
      );
    out[key] = number;
  }
  return out;
}

interface SetOptions {
  name?: string;
  extension?: string;
  fullName?: string;
  email?: string;
  emailMode?: string;
  tz?: string;
  locale?: string;
  ums?: boolean;
  trusted?: string[];
  breakout?: string[];
  broadcast?: boolean;
  sipPassword?: string | boolean;
  clearSipPassword?: boolean;
  home?: string;
  exchangeAddress?: string;
  exchangeConnection?: string;
  readEmail?: string;
  moveExisting?: boolean;
  activeGreeting?: string;
}

/** The change of home the options ask for, or null when they name none. */
function homeChangeFrom(o: SetOptions): MailboxHomeChange | null {
  if (o.home === undefined && o.exchangeAddress === undefined && o.exchangeConnection === undefined)
    return null;
  return {
    home: o.home,
    exchangeAddress: o.exchangeAddress,
    exchangeConnection: o.exchangeConnection,
  };
}

function changesFrom(o: SetOptions): MailboxChanges {
  const c: MailboxChanges = {};
  if (o.name !== undefined) c.name = o.name;
  if (o.extension !== undefined) c.extension = o.extension;
  if (o.fullName !== undefined) c.fullName = o.fullName;
  if (o.email !== undefined) c.email = o.email;
  if (o.emailMode !== undefined) c.emailMode = o.emailMode as MailboxChanges['emailMode'];
  if (o.tz !== undefined) c.timeZone = o.tz;
  if (o.locale !== undefined) c.locale = o.locale;
  if (o.ums !== undefined) c.umsAccess = o.ums;
  if (o.trusted !== undefined)
    c.trustedNumbers = o.trusted.flatMap((t) => t.split(',')).filter(Boolean);
  if (o.breakout !== undefined) c.breakouts = parseBreakouts(o.breakout);
  if (o.broadcast !== undefined) c.broadcast = o.broadcast;
  if (o.activeGreeting !== undefined)
    c.activeGreeting = o.activeGreeting as MailboxChanges['activeGreeting'];
  return c;
}

/**
 * `--email-mode`, its values listed in the help; the old `exchange` is refused before anything
 * is opened, with what replaced it (the domain's words).
 */
function emailModeOption(): Option {
  return new Option('--email-mode <mode>', 'what is sent by e-mail')
    .choices(EMAIL_MODES)
    .argParser((value: string) => {
      try {
        return emailModeOf(value);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    });
}

export function registerMailbox(program: Command): void {
  const mailbox = program
    .command('mailbox')
    .description('manage mailboxes (named by name or extension)');

  mailbox
    .command('add <name>')
    .description('add a user mailbox, or a hunt group with --group')
    .option('--extension <n>', 'extension number')
    .option(
      '--code <code>',
      'voicemail code (digits); better piped on standard input, or typed when asked',
    )
    .option('--full-name <text>', 'full name')
    .option('--email <addr>', 'e-mail address')
    .option('--tz <zone>', 'time zone, e.g. Europe/Paris')
    .option('--locale <locale>', 'language, e.g. en-US')
    .option('--no-ums', 'no access from mail clients and the web')
    .option('--group', 'a hunt group')
    .option(
      '--no-broadcast',
      'hunt group: keep messages in the group instead of copying them to each member',
    )
    .action(
      async (name: string, o: SetOptions & { code?: string; group?: boolean }, cmd: Command) => {
        if (o.code !== undefined) warnCodeArgument('--code');
        const code = o.code ?? (await readCode(`Code for ${name}: `));
        await withContext(cmd, async (ctx) => {
          const m = await ctx.mailboxes.add(
            {
              ...changesFrom(o),
              name,
              kind: o.group ? 'group' : 'user',
              broadcast: o.group ? o.broadcast : undefined,
            },
            code,
          );
          print(
            `added ${m.kind === 'group' ? 'hunt group' : 'mailbox'} ${m.name}${m.extension ? ` (extension ${m.extension})` : ''}`,
          );
        });
      },
    );

  mailbox
    .command('list')
    .description('list mailboxes')
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const list = await ctx.mailboxes.list();
        if (o.json) return printJson(list);
        printTable(
          ['NAME', 'EXT', 'KIND', 'FULL NAME', 'E-MAIL', 'MODE', 'TIME ZONE', 'UMS'],
          list.map(mailboxRow),
        );
      });
    });

  mailbox
    .command('show <mailbox>')
    .description('show one mailbox')
    .option('--json', 'as JSON')
    .action(async (ref: string, o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const {
          codeHash: _c,
          failedLogins,
          lockedUntil,
          sip,
          ...m
        } = await ctx.mailboxes.resolve(ref);
        const members =
          m.kind === 'group'
            ? (await ctx.mailboxes.groupMembers(ref)).map((x) => x.name)
            : undefined;
        const shown = {
          ...m,
          ...(await ctx.homes.home(m.name)),
          readEmail: describeEmailReading(await ctx.emailReading.view(m.name)),
          members,
          sipCredentials: sip ? `user ${m.extension}, realm ${sip.realm}` : 'none',
          failedLogins,
          lockedUntil:
            lockedUntil && lockedUntil > Date.now() ? new Date(lockedUntil).toISOString() : null,
        };
        if (o.json) return printJson(shown);
        for (const [k, v] of Object.entries(shown)) {
          if (v !== undefined)
            print(
              `${k.padEnd(15)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '')}`,
            );
        }
      });
    });

  mailbox
    .command('set <mailbox>')
    .description('change mailbox settings')
    .option('--name <name>', 'new name')
    .option('--extension <n>', 'extension ("" for none)')
    .option('--full-name <text>', 'full name')
    .option('--email <addr>', 'e-mail address ("" for none)')
    .addOption(emailModeOption())
    .option('--tz <zone>', 'time zone')
    .option('--locale <locale>', 'language')
    .option('--ums', 'allow access from mail clients and the web')
    .option('--no-ums', 'deny access from mail clients and the web')
    .option(
      '--trusted <numbers>',
      'trusted caller numbers, comma-separated ("" for none)',
      collect,
      undefined as unknown as string[],
    )
    .option(
      '--breakout <key=number>',
      'breakout number for key 0, 2 or 3 (repeatable)',
      collect,
      undefined as unknown as string[],
    )
    .option('--broadcast', 'hunt group: copy messages to each member')
    .option('--no-broadcast', 'hunt group: keep messages in the group')
    .addOption(
      new Option('--active-greeting <kind>', 'the greeting callers hear').choices([
        'unavailable',
        'busy',
        'temporary',
      ]),
    )
    .option(
      '--sip-password [password]',
      "set the SIP password of the mailbox's phone (digest user name: the extension); without a value it is read from standard input or asked for",
    )
    .option('--clear-sip-password', 'remove the SIP password: the phone can no longer register')
    .addOption(
      new Option('--home <home>', 'where its voicemail lives: here, or in Exchange').choices([
        'local',
        'exchange',
      ]),
    )
    .option('--exchange-address <addr>', "the user's Exchange mailbox (with --home exchange)")
    .option(
      '--exchange-connection <name>',
      'the exchange.connections entry to use (needed when there are several)',
    )
    .option(
      '--move-existing',
      "with --home exchange: move the voicemail kept here into the user's Exchange mailbox (run again if interrupted)",
    )
    .option(
      '--read-email <source>',
      "read the owner's new e-mails by phone: imap://user@host:993 (the password, or the OAuth token with ?auth=oauth, from standard input or asked for), exchange (the mailbox's Exchange connection, with --home exchange), or off",
    )
    .action(async (ref: string, o: SetOptions, cmd: Command) => {
      // Read like codes: never wanted on the command line, where every user sees it (ps).
      if (typeof o.sipPassword === 'string') warnCodeArgument('a SIP password on the command line');
      const sipPassword =
        typeof o.sipPassword === 'string'
          ? o.sipPassword
          : o.sipPassword
            ? await readCode(`SIP password for ${ref}: `)
            : undefined;
      const readEmail = o.readEmail === undefined ? undefined : parseReadEmail(o.readEmail);
      if (readEmail?.source === 'imap' && sipPassword !== undefined && o.sipPassword === true)
        throw new VoicegateError(
          'INVALID_INPUT',
          '--sip-password and --read-email both read standard input: set them one at a time',
        );
      // Like codes, the account's secret never comes from the command line.
      const emailSecret =
        readEmail?.source === 'imap'
          ? await readCode(
              `${readEmail.imap.auth === 'oauth' ? 'OAuth token' : 'Password'} of ${readEmail.imap.user}@${readEmail.imap.host}: `,
            )
          : undefined;
      await withContext(cmd, async (ctx) => {
        const changes = changesFrom(o);
        const homeChange = homeChangeFrom(o);
        if (
          Object.keys(changes).length === 0 &&
          sipPassword === undefined &&
          !o.clearSipPassword &&
          !homeChange &&
          o.readEmail === undefined &&
          !o.moveExisting
        )
          throw new VoicegateError(
            'INVALID_INPUT',
            'nothing to change; see voicegate mailbox set --help',
          );
        const settings = {
          fields: changes,
          ...(homeChange ? { home: homeChange } : {}),
          ...(o.clearSipPassword
            ? { sipPassword: null }
            : sipPassword !== undefined
              ? { sipPassword }
              : {}),
          ...(o.readEmail !== undefined
            ? { readEmail: { choice: o.readEmail, secret: emailSecret } }
            : {}),
        };
        // --move-existing alone changes no setting: it moves what the mailbox holds.
        const changing =
          Object.keys(changes).length > 0 ||
          homeChange ||
          o.clearSipPassword ||
          sipPassword !== undefined ||
          o.readEmail !== undefined;
        if (!changing) {
          await moveExisting(ctx, (await ctx.mailboxes.resolve(ref)).name);
          return;
        }
        const m = await ctx.mailboxSettings.apply(ref, settings, CLI_ACTOR);
        const extras = await ctx.mailboxSettings.extras(m.name);
        if (sipPassword !== undefined && !o.clearSipPassword)
          print(
            `SIP credentials for ${m.name}: user name ${m.extension}, realm ${ctx.mailboxSettings.sipRealm}`,
          );
        if (homeChange)
          print(
            extras.home.home === 'exchange'
              ? `${m.name}: voicemail goes to Exchange, ${extras.home.exchangeAddress} (connection ${extras.home.exchangeConnection})`
              : `${m.name}: voicemail is kept here`,
          );
        if (o.readEmail !== undefined)
          print(`${m.name}: e-mail reading ${describeEmailReading(extras.readEmail)}`);
        print(`updated mailbox ${m.name}`);
        if (o.moveExisting) await moveExisting(ctx, m.name);
      });
    });

  mailbox
    .command('set-code <mailbox> [code]')
    .description(
      'set a new voicemail code: piped on standard input, or typed when asked on a terminal',
    )
    .action(async (ref: string, code: string | undefined, _o: unknown, cmd: Command) => {
      if (code !== undefined) warnCodeArgument('a code on the command line');
      const newCode = code ?? (await readCode(`New code for ${ref}: `));
      await withContext(cmd, async (ctx) => {
        await ctx.mailboxes.setCode(ref, newCode);
        print(`code changed for ${ref}`);
      });
    });

  mailbox
    .command('unlock <mailbox>')
    .description('end a lockout after repeated wrong codes (on every channel)')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.mailboxes.unlock(ref);
        print(`unlocked mailbox ${ref}`);
      });
    });

  mailbox
    .command('remove <mailbox>')
    .description('remove a mailbox with its messages and greetings')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.mailboxes.remove(ref);
        print(`removed mailbox ${ref}`);
      });
    });
}

export function registerGroup(program: Command): void {
  const group = program.command('group').description('manage hunt groups');
  group
    .command('members <group> [members...]')
    .description('show the members of a hunt group, or set them when members are given')
    .option('--json', 'as JSON')
    .option('--clear', 'remove every member')
    .action(
      async (
        ref: string,
        members: string[],
        o: { json?: boolean; clear?: boolean },
        cmd: Command,
      ) => {
        await withContext(cmd, async (ctx) => {
          const list =
            members.length > 0 || o.clear
              ? await ctx.mailboxSettings.setMembers(ref, members, CLI_ACTOR)
              : await ctx.mailboxes.groupMembers(ref);
          if (o.json) return printJson(list);
          printTable(
            ['NAME', 'EXT', 'FULL NAME'],
            list.map((m) => [m.name, m.extension ?? '', m.fullName]),
          );
        });
      },
    );
}
