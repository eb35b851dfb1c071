import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let cfg: string[];
const cli = (args: string[], input?: string) => runCli([...cfg, ...args], { input });
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-cli-admin-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect(await runCli(['init', '--dir', dir])).toMatchObject({ code: 0 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('voicegate admin and audit', () => {
  it('adds, lists and removes administrators, never the last, and puts each change on record', async () => {
    expect(await cli(['admin', 'add', 'root'], 'correct horse battery\n')).toMatchObject({
      code: 0,
      stdout: 'added administrator root\n',
    });
    const short = await cli(['admin', 'add', 'ann'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/^voicegate: an administrator password has at least 10/);
    expect(await cli(['admin', 'add', 'ann'], 'another long one\n')).toMatchObject({ code: 0 });
    const dup = await cli(['admin', 'add', 'ann'], 'another long one\n');
    expect(dup.stderr).toMatch(/an administrator "ann" exists/);

    const list = await cli(['admin', 'list', '--json']);
    const admins = JSON.parse(list.stdout) as { name: string; totp: boolean }[];
    expect(admins.map((a) => [a.name, a.totp])).toEqual([
      ['ann', false],
      ['root', false],
    ]);
    expect(list.stdout).not.toMatch(/scrypt|hash/i);

    expect(await cli(['admin', 'set-password', 'ann'], 'yet another password\n')).toMatchObject({
      code: 0,
    });
    expect(await cli(['admin', 'remove', 'ann'])).toMatchObject({ code: 0 });
    const last = await cli(['admin', 'remove', 'root']);
    expect(last.code).toBe(1);
    expect(last.stderr).toBe(
      'voicegate: the last administrator cannot be removed; add another one first\n',
    );

    const audit = await cli(['audit', '--kind', 'admin-change', '--json']);
    const records = JSON.parse(audit.stdout) as { reason: string; channel: string }[];
    expect(records.map((r) => r.reason)).toEqual([
      'administrator removed',
      'administrator password set',
      'administrator added',
      'administrator added',
    ]);
    expect(records.every((r) => r.channel === 'cli')).toBe(true);
    expect(audit.stdout).not.toMatch(/horse|another long|yet another/);
  }, 180_000); // eleven CLI processes, each loading the whole program

  it('shows code changes, unlocks and mailbox changes by mailbox and time', async () => {
    expect(await cli(['mailbox', 'add', 'alice', '--extension', '201'], '1234\n')).toMatchObject({
      code: 0,
    });
    await cli(['mailbox', 'set-code', 'alice'], '4321\n');
    expect(await cli(['mailbox', 'unlock', 'alice'])).toMatchObject({
      code: 0,
      stdout: 'unlocked mailbox alice\n',
    });
    const table = await cli(['audit', '--mailbox', 'alice', '--since', '1h']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+KIND\s+OUTCOME\s+CHANNEL\s+WHO\s+MAILBOX\s+CLIENT\s+REASON$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual([
      'unlock',
      'code-change',
      'mailbox-change',
    ]);
    expect((await cli(['audit', '--since', '2999-01-01'])).stdout).toBe('no audit records\n');
    const bad = await cli(['audit', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since: "yesterday" is neither a date/);
  }, 120_000); // six CLI processes
});
