import type { Command } from 'commander';
import { AUDIT_KINDS, CLI_ACTOR, type AuditKind, type AuditRecord } from '../../domain/audit.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { print, printJson, printTable, withContext } from '../common.ts';
import { readCode } from '../read-code.ts';

/** `--since`: an ISO date or time, or a span back from now (`90m`, `24h`, `7d`). */
export function parseSince(text: string, now = Date.now(), option = '--since'): number {
  const span = /^(\d+)([mhd])$/.exec(text);
  if (span)
    return now - Number(span[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2] as 'm'];
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new VoicegateError(
      'INVALID_INPUT',
      `${option}: "${text}" is neither a date (2026-12-01, 2026-12-01T08:00Z) nor a span (90m, 24h, 7d)`,
    );
  return at;
}

const time = (ms: number | null): string =>
  ms === null ? '' : new Date(ms).toISOString().slice(0, 19) + 'Z';

export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description('administrator accounts (for the admin area of the web app)');

  admin
    .command('add <name>')
    .description(
      'add an administrator; the password is piped on standard input or typed when asked',
    )
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const password = await readCode(`Password for ${name}: `);
      await withContext(cmd, async (ctx) => {
        await ctx.admins.add(name, password, CLI_ACTOR);
        print(`added administrator ${name}`);
      });
    });

  admin
    .command('list')
    .description('the administrators')
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const all = await ctx.admins.list();
        if (o.json) return printJson(all);
        if (all.length === 0) return print('no administrators (voicegate admin add NAME)');
        printTable(
          ['NAME', 'SECOND FACTOR', 'LOCKED UNTIL', 'ADDED'],
          all.map((a) => [
            a.name,
            a.totp ? 'TOTP' : '',
            a.lockedUntil && a.lockedUntil > Date.now() ? time(a.lockedUntil) : '',
            time(a.createdAt),
          ]),
        );
      });
    });

  admin
    .command('remove <name>')
    .description('remove an administrator (never the last one)')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.admins.remove(name, CLI_ACTOR);
        print(`removed administrator ${name}`);
      });
    });

  admin
    .command('set-password <name>')
    .description(
      "set a new password (piped, or typed when asked); ends the administrator's sessions",
    )
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const password = await readCode(`New password for ${name}: `);
      await withContext(cmd, async (ctx) => {
        await ctx.admins.setPassword(name, password, CLI_ACTOR);
        print(`password changed for ${name}`);
      });
    });

  admin
    .command('unlock <name>')
    .description("end an administrator's lockout after repeated failed log-ins")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.admins.unlock(name, CLI_ACTOR);
        print(`unlocked administrator ${name}`);
      });
    });

  admin
    .command('remove-totp <name>')
    .description(
      "remove an administrator's second factor (a lost phone); enrol again from the web page",
    )
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.admins.removeTotp(name, CLI_ACTOR);
        print(`second factor removed for ${name}`);
      });
    });
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('the audit trail: log-ins, lockouts, code and settings changes, forwards, purges')
    .option('--mailbox <mailbox>', 'only records about this mailbox')
    .option('--kind <kind>', `only this kind (${AUDIT_KINDS.join(', ')})`)
    .option(
      '--since <time>',
      'from this time (2026-12-01, 2026-12-01T08:00Z) or span back (24h, 7d)',
    )
    .option('--until <time>', 'before this time (a date, or a span back from now: 1h)')
    .option('--limit <n>', 'at most this many, newest first', '100')
    .option('--json', 'as JSON')
    .action(
      async (
        o: {
          mailbox?: string;
          kind?: string;
          since?: string;
          until?: string;
          limit: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        if (o.kind !== undefined && !(AUDIT_KINDS as readonly string[]).includes(o.kind))
          throw new VoicegateError('INVALID_INPUT', `--kind: one of ${AUDIT_KINDS.join(', ')}`);
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
          throw new VoicegateError('INVALID_INPUT', '--limit: a whole number from 1 to 100000');
        const since = o.since === undefined ? undefined : parseSince(o.since);
        const until =
          o.until === undefined ? undefined : parseSince(o.until, Date.now(), '--until');
        await withContext(cmd, async (ctx) => {
          const records = await ctx.store.queryAudit({
            mailbox: o.mailbox,
            kind: o.kind as AuditKind | undefined,
            since,
            until,
            limit,
          });
          if (o.json) return printJson(records);
          if (records.length === 0) return print('no audit records');
          printTable(
            ['TIME', 'KIND', 'OUTCOME', 'CHANNEL', 'WHO', 'MAILBOX', 'CLIENT', 'REASON'],
            records.map((r: AuditRecord) => [
              time(r.at),
              r.kind,
              r.outcome,
              r.channel,
              r.principal ?? '',
              r.mailbox ?? '',
              r.client ?? '',
              r.reason ?? '',
            ]),
          );
        });
      },
    );
}
